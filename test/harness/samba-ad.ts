// Test harness: a real Active Directory domain for the Desktop tests — a Samba AD domain controller (Debian's
// `samba`, `samba-ad-dc`; `samba-tool domain provision`, a few seconds) in its own network namespace, joined to
// the libvirt namespace of a test bed by a veth pair:
//
//   <libvirt netns>  advirt 10.78.0.1/24  ──veth──  ad0 10.78.0.2/24  <orion-ad-<id>>  samba (DNS, Kerberos, LDAP, SMB)
//
// Guests reach the DC through their gateway (libvirt's NAT network routes 10.78.0.0/24 over the veth), and the
// libvirt network's DHCP tells them to use it as their DNS server (startLibvirt's dhcpDnsServer: AD_DNS_SERVER),
// so they resolve the realm, its SRV records and the DC (a reverse zone too: clients name the DC's Kerberos
// principal after its PTR record). Everything — databases, sockets, logs, the share — lives under one directory
// (/var/tmp/orion-ad-<id>-*), /run/samba included (samba/dc.sh bind-mounts it in the DC's own mount namespace);
// no file of this machine's Samba is read or written, its smb.conf included. Passwords go to samba-tool on stdin,
// never in its arguments. The DC forwards no DNS query anywhere.
//
// The share holds files written at start-up; a domain user mounts it with pam_mount in the tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LibvirtEnv } from './libvirt.js';

const run = promisify(execFile);
const DC_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'samba', 'dc.sh');

/** Where the DC answers; give it to startLibvirt as dhcpDnsServer. */
export const AD_DNS_SERVER = '10.78.0.2';
const GATEWAY = '10.78.0.1';

export interface AdUser {
  name: string;
  password: string;
  /** Groups to add the user to ("Domain Admins" for an account that joins computers). */
  groups?: string[];
}

export interface SambaAdOptions {
  /** DNS name of the domain (the Kerberos realm is its upper case). */
  domain: string;
  /** NetBIOS name of the domain (≤ 15 characters). */
  workgroup: string;
  users: AdUser[];
  share: { name: string; files: Record<string, string> };
}

export interface SambaAd {
  domain: string;
  realm: string;
  workgroup: string;
  /** The DC's host name in the domain (`dc.<domain>`) and its address. */
  dcHost: string;
  address: string;
  share: string;
  netns: string;
  root: string;
  stop(): Promise<void>;
}

function smbConf(root: string, o: SambaAdOptions): string {
  return `# Orion test harness: a Samba AD DC under ${root}
[global]
	netbios name = DC
	realm = ${o.domain.toUpperCase()}
	workgroup = ${o.workgroup}
	server role = active directory domain controller
	interfaces = lo ad0
	bind interfaces only = yes
	server services = -nbt -wrepl -dnsupdate
	idmap_ldb:use rfc2307 = yes
	private dir = ${root}/private
	binddns dir = ${root}/bind-dns
	lock directory = ${root}/lock
	state directory = ${root}/state
	cache directory = ${root}/cache
	pid directory = ${root}/run
	ncalrpc dir = ${root}/run/ncalrpc
	ntp signd socket directory = ${root}/run/ntp_signd
	log file = ${root}/log/samba.log
	logging = file
	log level = 1

[sysvol]
	path = ${root}/state/sysvol
	read only = no

[netlogon]
	path = ${root}/state/sysvol/${o.domain.toLowerCase()}/scripts
	read only = no

[${o.share.name}]
	path = ${root}/shares/${o.share.name}
	read only = yes
`;
}

/** Runs a command in the DC's namespace, giving it `input` on stdin. */
function inNetns(netns: string, args: string[], input = '', log?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('close', async (code) => {
      if (log) await writeFile(log, output, { flag: 'a' });
      if (code === 0) resolve();
      else reject(new Error(`${args.slice(0, 3).join(' ')} failed (exit ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
    child.stdin.end(input);
  });
}

async function waitForPort(netns: string, port: number, timeoutMs: number, samba: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (samba.exitCode !== null) throw new Error(`samba exited (code ${samba.exitCode}) before it listened on ${port}`);
    const open = await run('ip', ['netns', 'exec', netns, 'bash', '-c', `exec 3<>/dev/tcp/${AD_DNS_SERVER}/${port}`]).then(() => true, () => false);
    if (open) return;
    if (Date.now() > deadline) throw new Error(`samba did not listen on ${AD_DNS_SERVER}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Provisions the domain, adds the users and the share, starts the DC and waits until it answers. */
export async function startSambaAd(virt: LibvirtEnv, options: SambaAdOptions): Promise<SambaAd> {
  const netns = `orion-ad-${virt.id}`;
  // Traversable (0711) down to the share: smbd opens it as the user who mounts it.
  const root = await mkdtemp(join('/var/tmp', `${netns}-`));
  await chmod(root, 0o711);
  const log = join(root, 'log', 'setup.log');
  for (const dir of ['etc', 'log', 'run', 'lock', join('shares', options.share.name)]) await mkdir(join(root, dir), { recursive: true });
  let samba: ChildProcess | undefined;
  const ad: SambaAd = {
    domain: options.domain.toLowerCase(),
    realm: options.domain.toUpperCase(),
    workgroup: options.workgroup,
    dcHost: `dc.${options.domain.toLowerCase()}`,
    address: AD_DNS_SERVER,
    share: options.share.name,
    netns,
    root,
    stop: async () => {
      samba?.kill('SIGKILL');
      const pids = await run('ip', ['netns', 'pids', netns]).then((r) => r.stdout, () => '');
      for (const pid of pids.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['netns', 'delete', netns]).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['link', 'add', 'advirt', 'netns', virt.netns, 'type', 'veth', 'peer', 'name', 'ad0', 'netns', netns]);
    await virt.inNetns('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', 'advirt']);
    await virt.inNetns('ip', ['link', 'set', 'advirt', 'up']);
    for (const args of [['link', 'set', 'lo', 'up'], ['addr', 'add', `${AD_DNS_SERVER}/24`, 'dev', 'ad0'], ['link', 'set', 'ad0', 'up'], ['route', 'add', 'default', 'via', GATEWAY]]) {
      await inNetns(netns, ['ip', ...args]);
    }

    // -s names an empty file: provisioning writes it, and never reads this machine's smb.conf.
    const conf = join(root, 'etc', 'smb.conf');
    await writeFile(conf, '');
    // A random Administrator password nobody uses: the tests join with a user of their own.
    await inNetns(netns, ['samba-tool', 'domain', 'provision', '-s', conf, '--realm', ad.realm, '--domain', ad.workgroup,
      '--server-role', 'dc', '--dns-backend', 'SAMBA_INTERNAL', '--use-rfc2307', '--host-name', 'dc', '--host-ip', AD_DNS_SERVER,
      '--targetdir', root], '', log);
    // Provisioning rewrites smb.conf: put ours (the share, no DNS forwarder, the trimmed services) back.
    await writeFile(conf, smbConf(root, options));
    for (const user of options.users) {
      await inNetns(netns, ['samba-tool', 'user', 'create', user.name, '-s', conf], `${user.password}\n${user.password}\n`, log);
      for (const group of user.groups ?? []) await inNetns(netns, ['samba-tool', 'group', 'addmembers', group, user.name, '-s', conf], '', log);
    }
    // The DC's own service principals (ldap/dc.<domain> ...): what the dnsupdate task would add at start-up, which
    // is off (it also calls nsupdate for records provisioning already made). adcli binds to LDAP with Kerberos.
    await inNetns(netns, ['samba_spnupdate', '-s', conf], '', log);
    for (const [name, content] of Object.entries(options.share.files)) {
      await writeFile(join(root, 'shares', options.share.name, name), content, { mode: 0o644 });
    }

    const out = createWriteStream(join(root, 'log', 'samba.out'));
    samba = spawn('ip', ['netns', 'exec', netns, 'bash', DC_SCRIPT, root], { stdio: ['ignore', 'pipe', 'pipe'] });
    samba.stdout?.pipe(out);
    samba.stderr?.pipe(out);
    for (const port of [53, 88, 389, 445]) await waitForPort(netns, port, 60_000, samba);
    // A reverse zone with the DC's PTR record, as an AD site has: clients canonicalize the DC's address into the
    // name of its Kerberos principal (ldap/dc.<domain>). -P: the DC's own machine account, no password given.
    const reverse = `${AD_DNS_SERVER.split('.').slice(0, 3).reverse().join('.')}.in-addr.arpa`;
    await inNetns(netns, ['samba-tool', 'dns', 'zonecreate', AD_DNS_SERVER, reverse, '-P', '-s', conf], '', log);
    await inNetns(netns, ['samba-tool', 'dns', 'add', AD_DNS_SERVER, reverse, AD_DNS_SERVER.split('.')[3] as string, 'PTR', ad.dcHost, '-P', '-s', conf], '', log);
  } catch (err) {
    await ad.stop().catch(() => undefined);
    throw err;
  }
  return ad;
}
