// The Terraform runner against real OpenTofu (and Terraform) with the hashicorp/local provider and the built-in
// terraform_data resource,
// from the filesystem mirror that test/harness/tools/install.sh builds. Nothing is faked.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectLock, releaseStaleLock, TerraformRunner, type Workspace } from '../../src/exec/terraform/runner.js';
import { WorkspaceNameError } from '../../src/exec/terraform/workspace.js';
import { registry } from '../../src/telemetry/metrics.js';
import { ensureTofu, REPO_ROOT, type TofuTools } from '../harness/tofu.js';

const execFileAsync = promisify(execFile);
const BUILD_TIMEOUT_MS = 60 * 60_000;
const RUN_TIMEOUT_MS = 180_000;

let tools: TofuTools;
let root: string;
let runner: TerraformRunner;

/** The providers as pinned in versions.env: `version` is exact, so a mirror missing one fails `init` loudly. */
function providers(constraint = ''): Record<string, { source: string; version: string }> {
  const pinned = (type: string): string => {
    const version = tools.providerVersions[type];
    if (!version) throw new Error(`provider ${type} is not pinned in test/harness/tools/versions.env`);
    return version;
  };
  return {
    local: { source: 'hashicorp/local', version: `${constraint}${pinned('local')}` },
  };
}

/**
 * A root module with `count` files whose content is a variable, and a terraform_data "boot" step that follows
 * the files and runs `sleep boot_seconds` when created (0 unless a test slows it down to kill the apply there).
 */
function labModule(outDir: string, content: string, opts: { count?: number; constraint?: string } = {}): object {
  return {
    terraform: { required_providers: providers(opts.constraint) },
    variable: {
      content: { type: 'string', default: content },
      boot_seconds: { type: 'number', default: 0 },
    },
    resource: {
      local_file: {
        machine: {
          count: opts.count ?? 2,
          filename: `${outDir}/vm-\${count.index}.txt`,
          content: '${var.content} ${count.index}',
          file_permission: '0644',
        },
      },
      // Built into OpenTofu and Terraform >= 1.4: no provider to build, and replaced when its input changes.
      terraform_data: {
        boot: {
          triggers_replace: { files: '${join(",", local_file.machine[*].id)}' },
          provisioner: [{ 'local-exec': { command: 'sleep ${var.boot_seconds}' } }],
        },
      },
    },
    output: {
      files: { value: '${local_file.machine[*].filename}' },
      boot_id: { value: '${terraform_data.boot.id}' },
      secret: { value: 'not-for-logs', sensitive: true },
    },
  };
}

const ALL_RESOURCES = ['local_file.machine[0]', 'local_file.machine[1]', 'terraform_data.boot'];
const PLATFORM = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;

/** Where a workspace's hashicorp/local provider directory points (init links it into the plugin cache). */
async function localProviderLink(ws: Workspace, host: string): Promise<string> {
  return readlink(join(ws.dir, '.terraform', 'providers', host, 'hashicorp', 'local', tools.providerVersions.local ?? '', PLATFORM));
}

async function stateList(ws: Workspace, binary = tools.tofu): Promise<string[]> {
  const { stdout } = await execFileAsync(binary, ['state', 'list', '-no-color'], {
    cwd: ws.dir,
    env: { ...process.env, ...tools.env },
  });
  return stdout.split('\n').filter(Boolean).sort();
}

async function logsOf(ws: Workspace): Promise<string[]> {
  return (await readdir(ws.logDir)).sort();
}

/** The pid of the tofu process running `op` in a workspace (it leads its own process group). */
async function findTerraformPid(ws: Workspace, op: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readlink(`/proc/${entry}/cwd`)) !== ws.dir) continue;
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (argv[0] === runner.binary && argv[1] === op) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  return undefined;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  tools = await ensureTofu();
  root = await mkdtemp(join(tmpdir(), 'orion-tf-'));
  runner = await TerraformRunner.create({
    stateRoot: root,
    binary: tools.tofu,
    env: { TF_CLI_CONFIG_FILE: tools.cliConfig },
    killGraceMs: 2000,
  });
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('TerraformRunner with OpenTofu', () => {
  it('applies, returns outputs, spawns nothing when nothing changed, re-applies a changed variable', async () => {
    const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'files' });
    const out = join(root, 'out-files');
    const first = await runner.converge(ws, labModule(out, 'hello'));
    expect(first.failure).toBeUndefined();
    expect(first).toMatchObject({ result: 'success', applied: true, skipped: false });
    expect(first.runs.map((r) => r.op)).toEqual(['init', 'apply']);
    expect(first.outputs?.files?.value).toEqual([`${out}/vm-0.txt`, `${out}/vm-1.txt`]);
    expect(first.outputs?.secret).toMatchObject({ sensitive: true, value: 'not-for-logs' });
    expect(await readFile(`${out}/vm-1.txt`, 'utf8')).toBe('hello 1');
    expect(first.outputs?.boot_id?.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await stateList(ws)).toEqual(ALL_RESOURCES);

    // Unchanged module: no process at all.
    const spawnedBefore = { ...runner.spawned };
    const again = await runner.converge(ws, labModule(out, 'hello'));
    expect(again).toMatchObject({ result: 'success', skipped: true, runs: [] });
    expect(runner.spawned).toEqual(spawnedBefore);

    // An explicit plan (drift check) with no change: exit code 0, and no apply process.
    const plan = await runner.plan(ws);
    expect(plan).toMatchObject({ op: 'plan', result: 'success', exitCode: 0, changes: false });
    const forced = await runner.converge(ws, labModule(out, 'hello'), { force: true });
    expect(forced.runs.map((r) => r.op)).toEqual(['plan']);
    expect(forced.outputs?.files?.value).toEqual([`${out}/vm-0.txt`, `${out}/vm-1.txt`]);
    expect(runner.spawned.apply).toBe(spawnedBefore.apply);
    expect(runner.spawned.init).toBe(spawnedBefore.init);
    expect((await logsOf(ws)).filter((n) => n.endsWith('-apply.log'))).toHaveLength(1);
    for (const name of await logsOf(ws)) expect(await readFile(join(ws.logDir, name), 'utf8')).not.toContain('not-for-logs');

    // A changed variable: one apply process (it plans and applies), no init, and the new outputs from the state.
    const changed = await runner.converge(ws, labModule(out, 'bonjour'));
    expect(changed.runs.map((r) => [r.op, r.exitCode])).toEqual([['apply', 0]]);
    expect(await readFile(`${out}/vm-0.txt`, 'utf8')).toBe('bonjour 0');
    expect(changed.outputs?.boot_id?.value).not.toBe(first.outputs?.boot_id?.value); // terraform_data replaced
    expect(runner.spawned.apply).toBe(spawnedBefore.apply + 1);
    expect((await runner.stateBackend(ws).history()).length).toBeGreaterThanOrEqual(2);
    expect(await registry.getSingleMetricAsString('orion_terraform_runs_total')).toMatch(/op="apply",result="success"} [1-9]/);
  }, RUN_TIMEOUT_MS);

  it('detects drift with plan exit code 2, repairs it, and destroy removes everything', async () => {
    const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'drift' });
    const out = join(root, 'out-drift');
    expect((await runner.converge(ws, labModule(out, 'x'))).result).toBe('success');
    await unlink(`${out}/vm-0.txt`);
    const drift = await runner.plan(ws);
    expect(drift).toMatchObject({ result: 'success', exitCode: 2, changes: true });
    const repaired = await runner.converge(ws, labModule(out, 'x'), { force: true });
    expect(repaired).toMatchObject({ result: 'success', applied: true });
    expect(existsSync(`${out}/vm-0.txt`)).toBe(true);

    const destroy = await runner.destroy(ws);
    expect(destroy).toMatchObject({ op: 'destroy', result: 'success', exitCode: 0 });
    expect(existsSync(`${out}/vm-0.txt`) || existsSync(`${out}/vm-1.txt`)).toBe(false);
    expect(await stateList(ws)).toEqual([]);
  }, RUN_TIMEOUT_MS);

  it('reports a broken configuration with Terraform’s own message', async () => {
    const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'broken' });
    const broken = {
      terraform: { required_providers: providers() },
      resource: { local_file: { x: { filename: join(root, 'never'), contnet: 'typo' } } },
    };
    const result = await runner.converge(ws, broken);
    expect(result.result).toBe('failed');
    expect(result.failure).toMatchObject({ op: 'apply', result: 'failed', exitCode: 1 });
    expect(result.failure?.error).toMatch(/^Error: Extraneous JSON object property\n/);
    expect(result.failure?.error).toContain('No argument or block type is named "contnet"');
    expect(result.failure?.error).not.toMatch(/[│╷╵]/);
    expect(await readFile(result.failure?.logFile ?? '', 'utf8')).toContain('Extraneous JSON object property');
    expect(result.failure?.logFile).toMatch(/\/logs\/lab\/default\/broken\/\d{8}T\d{6}\.\d{3}Z-apply\.log$/);
  }, RUN_TIMEOUT_MS);

  it('after a SIGKILL mid-apply, reports the stale lock, releases it, and converges to one set of resources', async () => {
    const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'crash' });
    const out = join(root, 'out-crash');
    const module = labModule(out, 'c');
    const running = runner.converge(ws, module, { env: { TF_VAR_boot_seconds: '60' } });
    // Kill the whole tofu process group once the files exist and the slow boot step runs. The local backend
    // persists intermediate state only every 20 s, so the files are typically not in the state yet: the next
    // apply must create them again in place, not a second set.
    const pid = await waitFor('apply to reach the boot step', async () => {
      return existsSync(`${out}/vm-0.txt`) && existsSync(`${out}/vm-1.txt`) && (await findTerraformPid(ws, 'apply'));
    });
    await new Promise((r) => setTimeout(r, 500));
    process.kill(-pid, 'SIGKILL');
    const crashed = await running;
    expect(crashed.failure).toMatchObject({ op: 'apply', result: 'failed' });

    const lock = await inspectLock(ws);
    expect(lock).toMatchObject({ Operation: 'OperationTypeApply', alive: false });
    expect(lock?.ID).toMatch(/\w/);
    expect(lock?.Who).toMatch(/@/);
    expect(lock?.Created).toMatch(/\d{4}-/);
    expect(await releaseStaleLock(ws, lock?.ID ?? '')).toMatchObject({ released: true });

    expect(await runner.interruptedRun(ws)).toMatchObject({ op: 'apply', pid: process.pid });
    const again = await runner.converge(ws, module, { env: { TF_VAR_boot_seconds: '0' } });
    expect(again.failure).toBeUndefined();
    expect(again).toMatchObject({ result: 'success', applied: true, interrupted: { op: 'apply' } });
    expect(await runner.interruptedRun(ws)).toBeUndefined();
    expect(await stateList(ws)).toEqual(ALL_RESOURCES);
    expect((await readdir(out)).sort()).toEqual(['vm-0.txt', 'vm-1.txt']);
    expect((await runner.plan(ws)).changes).toBe(false);
  }, RUN_TIMEOUT_MS);

  it('after a SIGKILL of the Orion process mid-apply, its tofu finishes the apply and the next converge applies nothing', async () => {
    const ref = { kind: 'lab', namespace: 'default', name: 'orion-killed' };
    const ws = await runner.workspace(ref);
    const out = join(root, 'out-orion-killed');
    const module = labModule(out, 'o');
    // A separate Orion process (the real runner under tsx) that gets SIGKILLed during the apply.
    const script = [
      'const { TerraformRunner } = await import(process.argv[1]);',
      'const [stateRoot, binary, cliConfig, ref, module] = process.argv.slice(2);',
      'const runner = await TerraformRunner.create({ stateRoot, binary, env: { TF_CLI_CONFIG_FILE: cliConfig } });',
      'const ws = await runner.workspace(JSON.parse(ref));',
      "await runner.converge(ws, JSON.parse(module), { env: { TF_VAR_boot_seconds: '15' } });",
    ].join('\n');
    const args = [join(REPO_ROOT, 'src/exec/terraform/runner.ts'), root, tools.tofu, tools.cliConfig, JSON.stringify(ref), JSON.stringify(module)];
    const orion = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => orion.once('exit', resolve));
    const tofuPid = await waitFor('the other Orion to reach the boot step', async () => {
      return existsSync(`${out}/vm-0.txt`) && existsSync(`${out}/vm-1.txt`) && (await findTerraformPid(ws, 'apply'));
    });
    orion.kill('SIGKILL');
    await exited;

    // Its tofu led its own process group and writes its log through a file descriptor, not a pipe to the dead
    // Orion: it lives on, and while it does its lock is reported as held by a live process and kept.
    const lock = await inspectLock(ws);
    expect(lock).toMatchObject({ Operation: 'OperationTypeApply', alive: true, pid: tofuPid });
    expect(await releaseStaleLock(ws, lock?.ID ?? '')).toMatchObject({ released: false });
    const blocked = await runner.plan(ws);
    expect(blocked).toMatchObject({ result: 'failed', lockHeld: true, holder: { pid: tofuPid, alive: true } });

    // It finishes its apply, releases the lock, and its log has the whole run.
    await waitFor('the orphaned tofu to finish', async () => (await findTerraformPid(ws, 'apply')) === undefined, 60_000);
    expect(await inspectLock(ws)).toBeUndefined();
    expect(await stateList(ws)).toEqual(ALL_RESOURCES);
    const applyLogs = (await logsOf(ws)).filter((n) => n.endsWith('-apply.log'));
    expect(applyLogs).toHaveLength(1);
    expect(await readFile(join(ws.logDir, applyLogs[0] ?? ''), 'utf8')).toContain('Apply complete! Resources: 3 added');

    // The next converge finds the interrupted marker, plans no change and applies nothing.
    const applies = runner.spawned.apply;
    const again = await runner.converge(ws, module, { env: { TF_VAR_boot_seconds: '0' } });
    expect(again.failure).toBeUndefined();
    expect(again).toMatchObject({ result: 'success', interrupted: { op: 'apply' } });
    expect(runner.spawned.apply).toBe(applies);
    expect(await stateList(ws)).toEqual(ALL_RESOURCES);
    expect((await readdir(out)).sort()).toEqual(['vm-0.txt', 'vm-1.txt']);
    expect((await runner.plan(ws)).changes).toBe(false);
  }, RUN_TIMEOUT_MS);

  it('reports a live lock with its holder, never releases it, and cancels a run', async () => {
    const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'locked' });
    const out = join(root, 'out-locked');
    const controller = new AbortController();
    const running = runner.converge(ws, labModule(out, 'l'), {
      env: { TF_VAR_boot_seconds: '60' },
      signal: controller.signal,
    });
    const pid = await waitFor('apply to hold the lock', async () => {
      const p = await findTerraformPid(ws, 'apply');
      return p !== undefined && existsSync(join(ws.dir, '.terraform.tfstate.lock.info')) && p;
    });

    const blocked = await runner.plan(ws);
    expect(blocked).toMatchObject({ op: 'plan', result: 'failed', lockHeld: true });
    expect(blocked.error).toContain('Error acquiring the state lock');
    expect(blocked.holder).toMatchObject({ Operation: 'OperationTypeApply', pid, alive: true });
    expect(blocked.holder?.ID).toMatch(/\w/);
    const release = await releaseStaleLock(ws, blocked.holder?.ID ?? '');
    expect(release).toMatchObject({ released: false });
    expect(release.reason).toMatch(/live process/);
    expect(existsSync(join(ws.dir, '.terraform.tfstate.lock.info'))).toBe(true);

    controller.abort();
    const cancelled = await running;
    expect(cancelled.failure).toMatchObject({ op: 'apply', result: 'cancelled' });
    await waitFor('the tofu process group to end', async () => (await findTerraformPid(ws, 'apply')) === undefined);
  }, RUN_TIMEOUT_MS);

  it('shares one provider plugin cache under the state root between workspaces whose inits run at once', async () => {
    const names = ['cache-a', 'cache-b', 'cache-c'];
    // A provider constraint of their own (the same version): no earlier init has these inputs, so each inits.
    const converged = await Promise.all(names.map(async (name) => {
      const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name });
      return { ws, result: await runner.converge(ws, labModule(join(root, `out-${name}`), name, { count: 1, constraint: '= ' })) };
    }));
    const version = tools.providerVersions.local ?? '';
    for (const { ws, result } of converged) {
      expect(result.failure).toBeUndefined();
      expect(result.runs.map((r) => r.op)).toEqual(['init', 'apply']);
      expect(await localProviderLink(ws, 'registry.opentofu.org')).toBe(join(root, 'plugin-cache', 'registry.opentofu.org', 'hashicorp', 'local', version, PLATFORM));
    }
  }, RUN_TIMEOUT_MS);

  it('gives a new workspace a copy of an earlier init with the same inputs; a copy that no longer fits is dropped and init runs', async () => {
    const constraint = '~> ';
    const first = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'copy-first' });
    expect((await runner.converge(first, labModule(join(root, 'out-copy-first'), 'first', { count: 1, constraint }))).runs.map((r) => r.op)).toEqual(['init', 'apply']);

    // Same providers and modules: no init process; the provider is the cache's, the lock file the first one's.
    const inits = runner.spawned.init;
    const second = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'copy-second' });
    const copied = await runner.converge(second, labModule(join(root, 'out-copy-second'), 'second', { count: 1, constraint }));
    expect(copied.failure).toBeUndefined();
    expect(copied.runs.map((r) => r.op)).toEqual(['apply']);
    expect(runner.spawned.init).toBe(inits);
    expect(await readFile(join(root, 'out-copy-second', 'vm-0.txt'), 'utf8')).toBe('second 0');
    expect(await localProviderLink(second, 'registry.opentofu.org')).toBe(await localProviderLink(first, 'registry.opentofu.org'));
    expect(await readFile(join(second.dir, '.terraform.lock.hcl'), 'utf8')).toBe(await readFile(join(first.dir, '.terraform.lock.hcl'), 'utf8'));

    // The plugin cache emptied by hand: the copied links lead nowhere. Terraform asks for init; it runs, then the apply.
    await rm(join(root, 'plugin-cache'), { recursive: true, force: true });
    const third = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'copy-third' });
    const healed = await runner.converge(third, labModule(join(root, 'out-copy-third'), 'third', { count: 1, constraint }));
    expect(healed.failure).toBeUndefined();
    expect(healed.runs.map((r) => [r.op, r.result])).toEqual([['apply', 'failed'], ['init', 'success'], ['apply', 'success']]);
    expect(healed.runs[0]?.error).toMatch(/^Error: Required plugins are not installed/);
    expect(await readFile(join(root, 'out-copy-third', 'vm-0.txt'), 'utf8')).toBe('third 0');
    // The next new workspace gets a copy of that fresh init.
    const fourth = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'copy-fourth' });
    expect((await runner.converge(fourth, labModule(join(root, 'out-copy-fourth'), 'fourth', { count: 1, constraint }))).runs.map((r) => r.op)).toEqual(['apply']);
  }, RUN_TIMEOUT_MS);

  it('rejects a workspace name that would leave the state root', async () => {
    await expect(runner.workspace({ kind: 'lab', namespace: 'default', name: '../x' })).rejects.toThrow(WorkspaceNameError);
    await expect(runner.workspace({ kind: 'lab', namespace: '..', name: 'x' })).rejects.toThrow(WorkspaceNameError);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });
});

describe('TerraformRunner with HashiCorp Terraform and the same mirror', () => {
  const TERRAFORM = '/usr/local/bin/terraform';

  // Never skipped: this machine image ships /usr/local/bin/terraform, and Orion must work with it.
  it('applies, plans no change, and destroys', async () => {
    const tf = await TerraformRunner.create({
      stateRoot: join(root, 'terraform'),
      binary: TERRAFORM,
      env: { TF_CLI_CONFIG_FILE: tools.cliConfig },
    });
    const ws = await tf.workspace({ kind: 'lab', namespace: 'default', name: 'tf' });
    const out = join(root, 'out-terraform');
    const applied = await tf.converge(ws, labModule(out, 'terraform'));
    expect(applied.failure).toBeUndefined();
    expect(applied).toMatchObject({ result: 'success', applied: true });
    expect(applied.outputs?.files?.value).toEqual([`${out}/vm-0.txt`, `${out}/vm-1.txt`]);
    expect(applied.outputs?.secret).toMatchObject({ sensitive: true, value: 'not-for-logs' });
    expect(await localProviderLink(ws, 'registry.terraform.io')).toContain(`${join(root, 'terraform', 'plugin-cache')}/registry.terraform.io/`);
    const plan = await tf.plan(ws);
    expect(plan).toMatchObject({ exitCode: 0, changes: false });
    expect(await stateList(ws, TERRAFORM)).toEqual(ALL_RESOURCES);
    expect(await tf.destroy(ws)).toMatchObject({ result: 'success' });
    expect(existsSync(`${out}/vm-0.txt`)).toBe(false);
    expect(tf.spawned.apply).toBe(1);
  }, RUN_TIMEOUT_MS);

  it('runs inits that share the plugin cache one at a time (Terraform does not lock it)', async () => {
    const tf = await TerraformRunner.create({
      stateRoot: join(root, 'terraform-inits'),
      binary: TERRAFORM,
      env: { TF_CLI_CONFIG_FILE: tools.cliConfig },
    });
    const workspaces = await Promise.all(['tf-a', 'tf-b', 'tf-c'].map((name) => tf.workspace({ kind: 'lab', namespace: 'default', name })));
    const results = await Promise.all(workspaces.map((ws) => tf.converge(ws, labModule(join(root, `out-${ws.name}`), ws.name, { count: 1 }))));
    for (const result of results) expect(result.failure).toBeUndefined();
    // Each run log starts with "# <ISO time> <binary> init ..." and ends with "# exit 0 after <ms> ms".
    const spans = await Promise.all(results.map(async (result) => {
      const log = await readFile(result.runs.find((r) => r.op === 'init')?.logFile ?? '', 'utf8');
      const start = Date.parse(/^# (\S+) /.exec(log)?.[1] ?? '');
      const ms = Number(/^# exit 0 after (\d+) ms/m.exec(log)?.[1]);
      return [start, start + ms] as const;
    }));
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] ?? Infinity);
    for (const ws of workspaces) expect(await tf.destroy(ws)).toMatchObject({ result: 'success' });
  }, RUN_TIMEOUT_MS);
});
