import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrderedWriter, writeFileAtomic } from '../../src/base/atomic-file.js';
import { readJsonTree } from '../../src/folder/state-dir.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('../fixtures/atomic/writer.ts', import.meta.url));

interface Version {
  version: number;
  length: number;
  body: string;
}

/** Runs the writer fixture on `target`, SIGKILLs it at a random moment, returns the last version it reported. */
async function writeAndKill(target: string, minVersion: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, target], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let reported = 0;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      reported = Number(lines[lines.length - 1]);
      if (reported >= minVersion) resolve();
    });
    void exited.then(() => reject(new Error(`writer exited early: ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, Math.random() * 25)); // land somewhere inside a write
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return reported;
}

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orion-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the content with mode 0600 and leaves no temp file', async () => {
    const target = join(dir, 'sub', 'obj.json');
    await writeFileAtomic(target, '{"a":1}');
    await writeFileAtomic(target, '{"a":2}');
    expect(readFileSync(target, 'utf8')).toBe('{"a":2}');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['obj.json']);
  });

  it('a process killed (SIGKILL) at random moments mid-write always leaves one complete version', async () => {
    const rounds = Array.from({ length: 6 }, (_, i) => i);
    const results = await Promise.all(
      rounds.map(async (i) => {
        const target = join(dir, `obj-${i}.json`);
        const reported = await writeAndKill(target, 1 + (i % 3));
        const parsed = JSON.parse(readFileSync(target, 'utf8')) as Version;
        return { reported, parsed, leftovers: readdirSync(dir).filter((f) => f.startsWith(`.obj-${i}.json.`)) };
      }),
    );
    for (const { reported, parsed } of results) {
      expect(parsed.body.length).toBe(parsed.length); // complete, not torn
      expect(parsed.body.endsWith(String(parsed.version))).toBe(true);
      // every version the writer reported as written is durable: the file holds it or a later one
      expect(parsed.version).toBeGreaterThanOrEqual(reported);
      expect(parsed.version).toBeLessThanOrEqual(reported + 1);
    }
    // a reader of the folder (state reload) sees exactly the complete files, never a torn temp file
    const loaded = await readJsonTree<Version>(dir);
    expect(loaded).toHaveLength(rounds.length);
    for (const v of loaded) expect(v.body.length).toBe(v.length);
  }, 30_000);

  it('a temp file written but never renamed (crash before rename) leaves the previous state readable', async () => {
    const target = join(dir, 'obj.json');
    await writeFileAtomic(target, JSON.stringify({ version: 1 }));
    writeFileSync(join(dir, '.obj.json.deadbeef0000.tmp'), '{"version": 2, "trunc');
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ version: 1 });
    expect(await readJsonTree(dir)).toEqual([{ version: 1 }]);
  });
});

describe('OrderedWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orion-ordered-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the last write issued wins on disk under concurrent writes', async () => {
    const writer = new OrderedWriter();
    const target = join(dir, 'obj.json');
    const writes = Array.from({ length: 100 }, (_, i) => writer.write(target, `${'y'.repeat(i * 1000)}${i}`));
    await Promise.all(writes);
    expect(readFileSync(target, 'utf8')).toBe(`${'y'.repeat(99_000)}99`);
  });

  it('writes issued while a write is in flight are coalesced into the latest, and flush waits for them', async () => {
    const writer = new OrderedWriter();
    const target = join(dir, 'obj.json');
    void writer.write(target, 'first');
    for (let i = 0; i < 20; i++) void writer.write(target, `burst ${i}`);
    await writer.flush();
    expect(readFileSync(target, 'utf8')).toBe('burst 19');
  });

  it('orders removes with writes: write then remove leaves nothing, remove then write leaves the write', async () => {
    const writer = new OrderedWriter();
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    void writer.write(a, 'a1');
    void writer.remove(a);
    void writer.write(b, 'b1');
    void writer.remove(b);
    void writer.write(b, 'b2');
    await writer.flush();
    expect(existsSync(a)).toBe(false);
    expect(readFileSync(b, 'utf8')).toBe('b2');
  });

  it('keeps going after a failed write', async () => {
    const writer = new OrderedWriter();
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'not a directory');
    await expect(writer.write(join(blocker, 'x.json'), 'x')).rejects.toThrow();
    await writer.write(join(dir, 'ok.json'), 'ok');
    expect(readFileSync(join(dir, 'ok.json'), 'utf8')).toBe('ok');
  });
});
