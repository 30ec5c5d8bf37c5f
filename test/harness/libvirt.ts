// Test harness: a private libvirt daemon (libvirtd + virtlogd from Debian) in its own network namespace, with a
// directory storage pool and a NAT network, for tests that run real QEMU (TCG) guests.
//
//   ip netns add orion-virt-<id>                  the network namespace: the network's bridge, dnsmasq and the
//                                                 guests' addresses exist only in there
//   ip netns exec <ns> bash libvirt/daemon.sh      the daemons, with /etc/libvirt, /run/libvirt, /var/lib/libvirt,
//                                                 /var/cache/libvirt and /var/log/libvirt bind-mounted from
//                                                 <root>/ in their own mount namespace: nothing clashes with a
//                                                 system libvirt or another test bed
//   qemu+unix:///system?socket=<root>/run/libvirt-sock   how clients (virsh, the Terraform provider) reach it
//
// stop() destroys the guests, kills every process of the namespace (all of them started here), deletes the
// namespace and the root directory.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const DAEMON_SCRIPT = join(HERE, 'libvirt', 'daemon.sh');

/** Debian packages the harness needs, by the file that shows each is installed. */
export const LIBVIRT_PACKAGES: Record<string, string> = {
  '/usr/sbin/libvirtd': 'libvirt-daemon-system',
  '/usr/bin/virsh': 'libvirt-clients',
  '/usr/bin/qemu-system-x86_64': 'qemu-system-x86',
  '/usr/bin/qemu-img': 'qemu-utils',
  '/usr/sbin/dnsmasq': 'dnsmasq-base',
  '/usr/bin/mkisofs': 'genisoimage',
  '/usr/sbin/iptables': 'iptables',
};

let installed: Promise<void> | undefined;

/** Installs the missing packages (apt-get update once, then install); a no-op when all are there. */
export function ensureLibvirtPackages(): Promise<void> {
  installed ??= (async () => {
    const missing = Object.entries(LIBVIRT_PACKAGES)
      .filter(([file]) => !existsSync(file))
      .map(([, pkg]) => pkg);
    if (missing.length === 0) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], { env, maxBuffer: 64 << 20 });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, maxBuffer: 64 << 20 });
  })();
  return installed;
}

export interface LibvirtEnv {
  id: string;
  root: string;
  netns: string;
  /** The URI of this daemon, for virsh -c and the Terraform provider. */
  uri: string;
  pool: string;
  poolDir: string;
  network: string;
  /** The network's gateway (the bridge's address inside the namespace) and DHCP subnet. */
  gateway: string;
  virsh(...args: string[]): Promise<string>;
  /** Runs a command inside the network namespace. */
  inNetns(file: string, args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface LibvirtOptions {
  /** Default: a random id. The namespace is <netnsPrefix>-<id>. */
  id?: string;
  /** Default orion-virt; a test picks its own to tell its namespaces apart from the lab tests'. */
  netnsPrefix?: string;
  /** Parent of the root directory (default /var/tmp). */
  parent?: string;
  /** The DNS server the network's DHCP gives the guests (default: the network's gateway, libvirt's dnsmasq). */
  dhcpDnsServer?: string;
}

const QEMU_CONF = `
# Orion test harness: guests run as root without a security driver or cgroups (the daemon's mount namespace has
# no cgroup hierarchy), and file ownership is left alone.
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
`;

function networkXml(name: string, dnsServer?: string): string {
  // The DNS server DHCP announces: the network's own dnsmasq, or another one (an AD domain controller's).
  const dns = dnsServer
    ? `\n  <dnsmasq:options><dnsmasq:option value='dhcp-option=option:dns-server,${dnsServer}'/></dnsmasq:options>`
    : '';
  return `<network${dnsServer ? " xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'" : ''}>
  <name>${name}</name>
  <forward mode='nat'/>
  <bridge name='orbr0' stp='off'/>
  <ip address='10.77.0.1' netmask='255.255.255.0'>
    <dhcp><range start='10.77.0.10' end='10.77.0.250'/></dhcp>
  </ip>${dns}
</network>
`;
}

async function waitForSocket(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`libvirtd did not create ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the daemon, the pool and the network. */
export async function startLibvirt(options: LibvirtOptions = {}): Promise<LibvirtEnv> {
  await ensureLibvirtPackages();
  const id = options.id ?? Math.random().toString(36).slice(2, 8);
  const netns = `${options.netnsPrefix ?? 'orion-virt'}-${id}`;
  const parent = options.parent ?? '/var/tmp';
  await mkdir(parent, { recursive: true });
  const root = await mkdtemp(join(parent, `${netns}-`));
  for (const dir of ['run', 'lib', 'cache', 'log', 'pool']) await mkdir(join(root, dir), { recursive: true });
  await cp('/etc/libvirt', join(root, 'etc'), { recursive: true });
  await rm(join(root, 'etc', 'qemu', 'networks'), { recursive: true, force: true });
  await writeFile(join(root, 'etc', 'qemu.conf'), (await readFile(join(root, 'etc', 'qemu.conf'), 'utf8')) + QEMU_CONF);
  await writeFile(join(root, 'etc', 'libvirtd.conf'), 'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n', { flag: 'a' });

  const socket = join(root, 'run', 'libvirt-sock');
  const uri = `qemu+unix:///system?socket=${socket}`;
  const virsh = async (...args: string[]): Promise<string> => (await run('virsh', ['-q', '-c', uri, ...args], { env: { ...process.env, LC_ALL: 'C' } })).stdout;
  const inNetns = async (file: string, args: string[]): Promise<string> => (await run('ip', ['netns', 'exec', netns, file, ...args])).stdout;
  const env: LibvirtEnv = {
    id, root, netns, uri, pool: 'orion', poolDir: join(root, 'pool'), network: 'orion', gateway: '10.77.0.1',
    virsh, inNetns, stop: () => stopLibvirt(env),
  };
  try {
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['netns', 'exec', netns, 'bash', DAEMON_SCRIPT, root]);
    await waitForSocket(socket, 30_000);
    await virsh('pool-define-as', env.pool, 'dir', '--target', env.poolDir);
    await virsh('pool-start', env.pool);
    await writeFile(join(root, 'network.xml'), networkXml(env.network, options.dhcpDnsServer));
    await virsh('net-define', join(root, 'network.xml'));
    await virsh('net-start', env.network);
  } catch (err) {
    await stopLibvirt(env).catch(() => undefined);
    throw err;
  }
  return env;
}

/** Domains, daemons, namespace, files: everything startLibvirt made. */
export async function stopLibvirt(env: LibvirtEnv): Promise<void> {
  const domains = await env.virsh('list', '--name').catch(() => '');
  for (const name of domains.split('\n').map((l) => l.trim()).filter(Boolean)) {
    await env.virsh('destroy', name).catch(() => undefined);
  }
  const pids = await run('ip', ['netns', 'pids', env.netns]).then((r) => r.stdout, () => '');
  for (const pid of pids.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 200));
  await run('ip', ['netns', 'delete', env.netns]).catch(() => undefined);
  await rm(env.root, { recursive: true, force: true });
}
