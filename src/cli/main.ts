// The `orion` command line. (Over 300 lines: one declaration per command and option, read as a table; each action
// hands off to the module that does the work.)
import { Command, InvalidArgumentError } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allCrds } from '../api/crds.js';
import { getCommand, invalidManifests } from './get.js';
import { packageVersion, resolveStateDir } from './paths.js';
import { followLogs } from './follow.js';
import { logsCommand } from './logs.js';
import { findKind } from '../api/kinds.js';
import type { KindName } from '../api/types.js';
import type { PortalRunOptions } from './portal-options.js';
import { tokenCreate, tokenList, tokenRevoke } from './token.js';
import { quickstart } from './quickstart.js';
import { renderCommand } from './render.js';
import { workerCommand } from './worker.js';
import { runUntilSignal } from './run.js';
import { runKubeUntilSignal } from './run-kube.js';
import { formatReport, validatePaths } from './validate.js';
import { addOidcOptions, oidcSettings, type OidcFlags } from './oidc-options.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

interface RunCommandOptions extends OidcFlags {
  dir?: string;
  kube?: boolean;
  kubeconfig?: string;
  namespace?: string;
  leaderElect?: boolean;
  leaseNamespace?: string;
  state?: string;
  listen: string;
  nodeConcurrency: number;
  rentalConcurrency: number;
  labConcurrency?: number;
  playbookDir?: string[];
  terraform?: string;
  imageDir?: string[];
  stateVersions?: number;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  allowedHost?: string[];
  allowedOrigin?: string[];
  recipe?: string[];
  quota?: string[];
  rateLimit?: number;
  secretNamespace?: string;
  tenantNamespace?: string;
  rentWait?: number;
  sessionWait?: number;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The portal's flags of `orion run` as options. */
function portalOptions(opts: RunCommandOptions): PortalRunOptions {
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new InvalidArgumentError('give both --tls-cert and --tls-key');
  const quotas: Partial<Record<KindName, number>> = {};
  for (const entry of opts.quota ?? []) {
    const [plural = '', count = ''] = entry.split('=');
    const def = findKind(plural);
    if (!def || !/^\d+$/.test(count)) throw new InvalidArgumentError(`--quota takes KIND=N, e.g. rentals=2 (got "${entry}")`);
    quotas[def.kind] = Number(count);
  }
  return {
    ...(opts.tlsCert && opts.tlsKey ? { tls: { cert: opts.tlsCert, key: opts.tlsKey } } : {}),
    insecureHttp: opts.insecureHttp,
    allowedHosts: opts.allowedHost,
    allowedOrigins: opts.allowedOrigin,
    recipes: opts.recipe,
    quotas,
    ratePerMinute: opts.rateLimit,
    namespace: opts.tenantNamespace,
    rentWaitSeconds: opts.rentWait,
    sessionWaitSeconds: opts.sessionWait,
    oidc: oidcSettings(opts, Boolean(opts.kube)),
  };
}

function addRunCommand(program: Command): void {
  addOidcOptions(program.command('run'))
    .description('reconcile the manifests of a folder (--dir, the embedded default) or of a cluster (--kube)')
    .option('--dir <dir>', 'folder of YAML manifests to watch (folder mode)')
    .option('--kube', 'watch the CRDs of a Kubernetes cluster (Kubernetes mode)')
    .option('--kubeconfig <file>', 'kubeconfig (--kube; default: in-cluster config in a pod, else ~/.kube/config)')
    .option('--namespace <ns>', 'watch one namespace only (--kube; default: all)')
    .option('--leader-elect', 'only reconcile while holding the orion-leader Lease (--kube)')
    .option('--secret-namespace <ns>', 'namespace of the Secrets a Hypervisor names without one (default: folder mode "default"; --kube: the pod\'s namespace, else --namespace, else "default")')
    .option('--lease-namespace <ns>', 'namespace of the Lease (--kube; default: --namespace or the pod namespace)')
    .option('--state <dir>', 'state directory (folder: default <dir>/.orion; kube: scratch for run logs and Terraform workspaces, default $TMPDIR/orion)')
    .option('--listen <addr>', 'address of the portal (/api, /ansible), /metrics, /healthz, /readyz', '127.0.0.1:9477')
    .option('--node-concurrency <n>', 'SSH probes running at once', positiveInt, 64)
    .option('--rental-concurrency <n>', 'rentals reconciled at once (their create_user/delete_user runs share ansible-playbook processes)', positiveInt, 32)
    .option('--lab-concurrency <n>', 'Labs reconciled at once (each may run a tofu apply and a playbook; default 4)', positiveInt)
    .option('--playbook-dir <dir...>', 'extra folders of allowed playbooks')
    .option('--terraform <binary>', 'tofu or terraform binary for Labs (default: tofu, else terraform, on PATH)')
    .option('--image-dir <dir...>', 'folders a libvirt Lab machine may boot images, kernels and initrds from')
    .option('--state-versions <n>', 'Terraform state versions kept in Secrets per Lab or Desktop (--kube)', positiveInt)
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; with --tls-key)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--insecure-http', 'serve the portal over plain HTTP on a non-loopback --listen (behind a TLS-terminating proxy)')
    .option('--allowed-host <host>', 'a host name the portal answers to besides loopback (reverse proxy, DNS name); repeatable', collect)
    .option('--allowed-origin <origin>', 'an origin (https://host) allowed to send cross-origin writes; repeatable', collect)
    .option('--recipe <name>', 'a playbook a PlaybookRun (/ansible/run) may name; repeatable (default: base)', collect)
    .option('--quota <kind=n>', 'objects of a kind one person may hold (default rentals=1, desktops=1, labs=2); repeatable', collect)
    .option('--rate-limit <n>', 'portal requests per minute per person (default 600)', positiveInt)
    .option('--tenant-namespace <ns>', 'namespace of the seeds\' routes (/api/rent, /api/session, /ansible) (default: default)')
    .option('--rent-wait <s>', 'how long POST /api/rent waits for Ready before answering 202 (default 120)', positiveInt)
    .option('--session-wait <s>', 'how long /api/session/create waits for Ready before answering 202 (default 300)', positiveInt)
    .action(async (opts: RunCommandOptions) => {
      if (Boolean(opts.dir) === Boolean(opts.kube)) throw new InvalidArgumentError('give exactly one of --dir and --kube');
      // Both modes take the same options (controllers.ts); the rest says where the objects and the state are.
      const common = {
        state: opts.state,
        listen: opts.listen,
        nodeConcurrency: opts.nodeConcurrency,
        rentalConcurrency: opts.rentalConcurrency,
        labConcurrency: opts.labConcurrency,
        playbookDirs: opts.playbookDir,
        terraform: opts.terraform,
        imageDirs: opts.imageDir,
        ...(opts.secretNamespace ? { secretNamespace: opts.secretNamespace } : {}),
        recipes: opts.recipe,
        portal: portalOptions(opts),
      };
      if (opts.dir) {
        if (opts.kubeconfig || opts.namespace || opts.leaderElect || opts.leaseNamespace || opts.stateVersions) {
          throw new InvalidArgumentError('--kubeconfig, --namespace, --leader-elect, --lease-namespace and --state-versions need --kube');
        }
        return runUntilSignal({ ...common, dir: opts.dir });
      }
      await runKubeUntilSignal({
        ...common,
        kubeconfig: opts.kubeconfig,
        namespace: opts.namespace,
        leaderElect: opts.leaderElect,
        leaseNamespace: opts.leaseNamespace,
        stateVersions: opts.stateVersions,
      });
    });
}

export function buildProgram(): Command {
  const program = new Command('orion')
    .description('Declarative reconciler for lab infrastructure: Labs, Desktops, Nodes and Rentals')
    .version(packageVersion(), '--version', 'print the version')
    .showHelpAfterError();

  addRunCommand(program);
  addTokenCommands(program);
  addInspectCommands(program);
  addRenderCommand(program);
  addQuickstartCommands(program);

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`orion ${packageVersion()}\n`);
    });

  return program;
}

/** Folder mode's bearer tokens. */
function addTokenCommands(program: Command): void {
  const token = program.command('token').description('bearer tokens of the portal (folder mode): create, list, revoke');
  const where = (cmd: Command): Command =>
    cmd.option('--dir <dir>', 'the manifests folder (its state directory holds the tokens)').option('--state <dir>', 'state directory');
  where(token.command('create').description('issue a token for NAME and print it once (only its hash is kept)').argument('<name>', 'the person: a POSIX login'))
    .option('--admin', 'an admin token: sees and changes everything')
    .option('--ttl <duration>', 'expires after this long (30d, 12h, 90m)')
    .option('--ssh-key <file>', 'an SSH public key file of the person (used by rents that send none); repeatable', collect)
    .action(async (name: string, opts: { dir?: string; state?: string; admin?: boolean; ttl?: string; sshKey?: string[] }) => {
      process.stdout.write(`${await tokenCreate(resolveStateDir(opts), name, opts)}\n`);
    });
  where(token.command('list').description('list the tokens (names, roles, expiry; never the tokens)')).action(async (opts: { dir?: string; state?: string }) => {
    process.stdout.write(`${await tokenList(resolveStateDir(opts))}\n`);
  });
  where(token.command('revoke').description('revoke the token of NAME').argument('<name>')).action(async (name: string, opts: { dir?: string; state?: string }) => {
    process.stdout.write(`${await tokenRevoke(resolveStateDir(opts), name)}\n`);
  });
}

/** `orion render`: what Orion would apply for each Lab and Desktop, without running anything. */
function addRenderCommand(program: Command): void {
  program
    .command('render')
    .description('print the OpenTofu root module (main.tf.json) Orion would apply for each Lab and Desktop; runs and contacts nothing')
    .argument('<paths...>', 'manifest files or folders')
    .option('--image-dir <dir...>', 'folders a libvirt machine may boot images, kernels and initrds from (as orion run)')
    .option('--output-dir <dir>', 'write <dir>/<kind>/<namespace>/<name>/main.tf.json instead of printing')
    .action(async (paths: string[], opts: { imageDir?: string[]; outputDir?: string }) => {
      const report = await renderCommand(paths, { imageDirs: opts.imageDir, outputDir: opts.outputDir });
      if (report.text) process.stdout.write(`${report.text}\n`);
      if (report.errors.length > 0) {
        process.stderr.write(`${report.errors.join('\n')}\n`);
        process.exitCode = 1;
      }
    });
}

/** Commands that read manifests or the state directory: logs, validate, get, crds. */
function addInspectCommands(program: Command): void {
  program
    .command('logs')
    .description('print the last Ansible/Terraform run log of a resource (KIND/NAME)')
    .argument('<resource>', 'for example rental/alice or node/worker-1')
    .option('--dir <dir>', 'the manifests folder (its state directory is read)')
    .option('--state <dir>', 'state directory')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--all', 'print every kept run, oldest first')
    .option('--list', 'list the kept runs instead of printing them')
    .option('-f, --follow', 'follow the running (or next) run through the portal, until its result')
    .option('--server <url>', 'the portal for --follow (default http://127.0.0.1:9477)', 'http://127.0.0.1:9477')
    .option('--token <token>', 'bearer token for --follow (default: $ORION_TOKEN)')
    .action(async (resource: string, opts: { dir?: string; state?: string; namespace: string; all?: boolean; list?: boolean; follow?: boolean; server: string; token?: string }) => {
      if (!opts.follow) return void process.stdout.write(await logsCommand(resource, { ...opts, stateDir: resolveStateDir(opts) }));
      const [kindName = '', name = ''] = resource.split('/');
      const def = findKind(kindName);
      if (!def || !name) throw new Error(`expected KIND/NAME (for example rental/alice), got "${resource}"`);
      const token = opts.token ?? process.env.ORION_TOKEN;
      if (!token) throw new Error('--follow needs a token: --token or $ORION_TOKEN (orion token create)');
      const state = await followLogs(def.plural, name, { server: opts.server, token, namespace: opts.namespace, out: (t) => process.stdout.write(t) });
      if (state !== 'SUCCESS') process.exitCode = 1;
    });

  program
    .command('validate')
    .description('check manifest files or folders; exit 1 with file:line errors if any is invalid')
    .argument('<paths...>', 'files or folders')
    .action(async (paths: string[]) => {
      const report = await validatePaths(paths);
      const text = formatReport(report);
      if (report.errors.length > 0) {
        process.stderr.write(`${text}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`${text}\n`);
      }
    });

  program
    .command('get')
    .description('list resources and their status from the state directory')
    .argument('<kind>', 'nodes, rentals, labs, desktops (or a short name)')
    .argument('[name]', 'one resource')
    .option('-o, --output <format>', 'json or yaml')
    .option('--dir <dir>', 'the manifests folder (its state directory is read)')
    .option('--state <dir>', 'state directory')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'all namespaces')
    .action(async (kind: string, name: string | undefined, opts: { output?: string; dir?: string; state?: string; namespace: string; allNamespaces?: boolean }) => {
      if (opts.output && !['json', 'yaml'].includes(opts.output)) throw new Error('--output must be json or yaml');
      const stateDir = resolveStateDir(opts);
      process.stdout.write(`${await getCommand(kind, name, { ...opts, stateDir })}\n`);
      const invalid = await invalidManifests(stateDir);
      if (invalid.length > 0 && !opts.output) {
        process.stderr.write(`\nWARNING: ${invalid.length} invalid manifest error(s); the last valid version stays in force:\n${invalid.map((l) => `  ${l}`).join('\n')}\n`);
      }
    });

  program
    .command('crds')
    .description('print the CustomResourceDefinitions generated from the schemas')
    .option('--write <dirs...>', 'write one file per kind into each folder instead')
    .action(async (opts: { write?: string[] }) => {
      const crds = allCrds();
      if (!opts.write) return void process.stdout.write(crds.map((c) => c.yaml).join('---\n'));
      for (const dir of opts.write) {
        await mkdir(dir, { recursive: true });
        for (const crd of crds) await writeFile(join(dir, crd.file), crd.yaml);
      }
    });
}

/** The local data plane of `npm start` and the control of its workers. */
function addQuickstartCommands(program: Command): void {
  program
    .command('quickstart')
    .description('start four local SSH workers and run Orion on examples/quickstart (what `npm start` runs)')
    .option('--dir <dir>', 'manifests folder', undefined)
    .option('--workers <n>', 'number of SSH workers', positiveInt, 4)
    .option('--base-port <port>', 'port of the first worker on 127.0.0.1', positiveInt, 22220)
    .option('--listen <addr>', 'address of /metrics, /healthz, /readyz', '127.0.0.1:9477')
    .action(async (opts: { dir?: string; workers: number; basePort: number; listen: string }) => {
      await quickstart(opts);
    });

  program
    .command('worker')
    .description('stop, kill or start a quickstart worker (talks to the running quickstart)')
    .argument('<action>', 'stop, kill or start')
    .argument('<name>', 'worker name, e.g. worker-1')
    .option('--listen <addr>', 'address of the running quickstart', '127.0.0.1:9477')
    .option('--dir <dir>', 'the quickstart folder (its admin token is read from its state directory)')
    .option('--token <token>', 'an admin token (default: $ORION_TOKEN, else the quickstart\'s)')
    .action(async (action: string, name: string, opts: { listen: string; dir?: string; token?: string }) => {
      process.stdout.write(`${await workerCommand(action, name, opts)}\n`);
    });
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
