import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPTURE_LIMIT } from '../../src/exec/process-output.js';
import { runProcess } from '../../src/exec/process.js';

const TREE = fileURLToPath(new URL('../fixtures/process/tree.sh', import.meta.url));
const PROCESS_MODULE = fileURLToPath(new URL('../../src/exec/process.ts', import.meta.url));

/** Alive = exists and is not a zombie (orphans reparented to a non-reaping init stay as zombies). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function treePids(pidFile: string): number[] {
  return readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number);
}

describe('runProcess', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orion-process-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a non-zero exit instead of throwing, and writes every line to a 0600 log file', async () => {
    const logFile = join(dir, 'logs', 'run.log');
    const result = await runProcess('bash', ['-c', 'echo out-1; echo err-1 >&2; echo out-2; exit 3'], {
      timeoutMs: 10_000,
      logFile,
    });
    expect(result).toMatchObject({ exitCode: 3, timedOut: false, cancelled: false });
    expect(result.stdout).toBe('out-1\nout-2');
    expect(result.stderr).toBe('err-1');
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('out-1\n');
    expect(log).toContain('err-1\n');
    expect(log).toContain('out-2\n');
    expect(log).toContain('# exit 3');
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
  });

  it('passes arguments as an array, never through a shell', async () => {
    const result = await runProcess('printf', ['%s|', 'a b', '$(echo no)', ';x'], { timeoutMs: 10_000, logFile: join(dir, 'l') });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('a b|$(echo no)|;x|');
  });

  it('rejects with a clear message when the binary does not exist', async () => {
    await expect(
      runProcess('orion-no-such-binary', [], { timeoutMs: 1000, logFile: join(dir, 'l') }),
    ).rejects.toThrow('orion-no-such-binary not found on PATH');
  });

  it('on timeout kills the whole process group, grandchildren included', async () => {
    const pidFile = join(dir, 'pids');
    const result = await runProcess(TREE, [pidFile], { timeoutMs: 2500, logFile: join(dir, 'l'), killGraceMs: 500 });
    expect(result.timedOut).toBe(true);
    expect(result.cancelled).toBe(false);
    expect(result.exitCode).toBeNull();
    expect(result.stdout).toContain('tree started');
    const pids = treePids(pidFile);
    expect(pids).toHaveLength(4);
    await waitFor(() => pids.every((pid) => !alive(pid)), 2000);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const started = Date.now();
    const result = await runProcess('bash', ['-c', 'trap "" TERM; sleep 100 & wait; sleep 100'], {
      timeoutMs: 300,
      killGraceMs: 300,
      logFile: join(dir, 'l'),
    });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('cancels on abort and kills the tree', async () => {
    const pidFile = join(dir, 'pids');
    const controller = new AbortController();
    const running = runProcess(TREE, [pidFile], { timeoutMs: 60_000, logFile: join(dir, 'l'), signal: controller.signal });
    await waitFor(() => existsSync(pidFile));
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: null });
    const pids = treePids(pidFile);
    await waitFor(() => pids.every((pid) => !alive(pid)), 2000);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runProcess('bash', ['-c', 'exit 0'], { timeoutMs: 1000, logFile: join(dir, 'l'), signal: controller.signal });
    expect(result.cancelled).toBe(true);
  });

  it('keeps only the tail of a large output in memory', async () => {
    const lines = 40_000; // ~1.5 MiB of output
    const result = await runProcess('bash', ['-c', `for i in $(seq 1 ${lines}); do echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxx"; done`], {
      timeoutMs: 30_000,
      logFile: join(dir, 'big.log'),
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBeLessThanOrEqual(CAPTURE_LIMIT);
    expect(result.stdout.endsWith(`line-${lines}-xxxxxxxxxxxxxxxxxxxxxxxxxxx`)).toBe(true);
    expect(result.stdout).not.toContain('line-1-');
    expect(readFileSync(join(dir, 'big.log'), 'utf8')).toContain('line-1-x');
  });

  describe('with outputToLogFile', () => {
    it('lets the child write the log file itself, in order, and returns the combined tail as stderr', async () => {
      const logFile = join(dir, 'logs', 'file.log');
      const lines: string[] = [];
      const result = await runProcess('bash', ['-c', 'echo out-1; echo err-1 >&2; printf "no-newline"; exit 4'], {
        timeoutMs: 10_000,
        logFile,
        outputToLogFile: true,
        logger: { child: () => ({ debug: (_o: object, line: string) => lines.push(line) }) } as never,
      });
      expect(result).toMatchObject({ exitCode: 4, stdout: '', stderr: 'out-1\nerr-1\nno-newline' });
      expect(lines).toEqual(['out-1', 'err-1', 'no-newline']);
      // The exit line starts a line of its own even when the child's last line had no newline.
      expect(readFileSync(logFile, 'utf8')).toMatch(/^# \S+ bash -c [^\n]*\nout-1\nerr-1\nno-newline\n# exit 4 after \d+ ms\n$/);
      expect(statSync(logFile).mode & 0o777).toBe(0o600);
    });

    it('still kills the whole process group on timeout', async () => {
      const pidFile = join(dir, 'pids');
      const logFile = join(dir, 'tree.log');
      const result = await runProcess(TREE, [pidFile], { timeoutMs: 2500, logFile, killGraceMs: 500, outputToLogFile: true });
      expect(result.timedOut).toBe(true);
      expect(result.stderr).toContain('tree started');
      const pids = treePids(pidFile);
      await waitFor(() => pids.every((pid) => !alive(pid)), 2000);
      expect(readFileSync(logFile, 'utf8')).toMatch(/tree started[\s\S]*# exit \S+ after \d+ ms \(timed out\)/);
    });

    // The point of the option: a child that outlives a SIGKILLed Orion finishes its work (with pipes, its next
    // write after Orion's death kills it with SIGPIPE).
    it.each([
      [true, 'finishes its work and writes the rest of its log'],
      [false, 'dies at its next write (the contrast: pipes)'],
    ])('outputToLogFile %s: when the parent is SIGKILLed the child %s', async (toFile, _what) => {
      const logFile = join(dir, 'orphan.log');
      const pidFile = join(dir, 'child.pid');
      const marker = join(dir, 'finished');
      const child = `echo $$ > ${pidFile}; sleep 1.5; echo after-parent-death; touch ${marker}`;
      const script = [
        'const { runProcess } = await import(process.argv[1]);',
        'const [logFile, child, toFile] = process.argv.slice(2);',
        "await runProcess('bash', ['-c', child], { timeoutMs: 60_000, logFile, outputToLogFile: toFile === 'true' });",
      ].join('\n');
      const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, PROCESS_MODULE, logFile, child, String(toFile)], {
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => parent.once('exit', resolve));
      await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 20_000);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      parent.kill('SIGKILL');
      await exited;
      expect(alive(pid)).toBe(true);
      await waitFor(() => !alive(pid), 10_000);
      expect(existsSync(marker)).toBe(toFile);
      expect(readFileSync(logFile, 'utf8').split('\n').includes('after-parent-death')).toBe(toFile); // a line of its own, not the header
    }, 30_000);
  });
});
