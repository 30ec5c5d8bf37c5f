// Test harness: Flux's kstatus library (sigs.k8s.io/cli-utils) as a small Go program, built once into .tools/bin by
// kstatus/install.sh (cached by the hash of its go.sum and source), run on objects to say how Flux and other
// kstatus users read them: Current, InProgress, Failed, Terminating.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { TOOLS_DIR } from './tofu.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const INSTALLER = join(HERE, 'kstatus', 'install.sh');
export const KSTATUS = join(TOOLS_DIR, 'bin', 'kstatus');

export interface KstatusVerdict {
  name: string;
  status: 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';
  message: string;
}

let install: Promise<string> | undefined;

/** Builds (first time: a minute) or reuses the kstatus binary; its path. */
export function ensureKstatus(): Promise<string> {
  install ??= new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [INSTALLER], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve(KSTATUS) : reject(new Error(`${INSTALLER} failed (${signal ?? `exit ${code}`})`))));
  });
  return install;
}

/** What kstatus computes for each object, in order. */
export async function kstatus(objects: object[]): Promise<KstatusVerdict[]> {
  const binary = await ensureKstatus();
  const run = await execa(binary, [], { input: JSON.stringify(objects), reject: false });
  if (run.exitCode !== 0) throw new Error(`kstatus exited with ${run.exitCode}: ${run.stderr}`);
  return JSON.parse(run.stdout) as KstatusVerdict[];
}
