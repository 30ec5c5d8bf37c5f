// The bare tool's keystroke echo, for bench/ui.ts: OpenSSH's `ssh -tt` logged in to a node, one byte written to its
// stdin → the same byte read back from its stdout (the remote pty's echo), one key at a time. Prints the round trips
// in ms as a JSON array.
//
//   npx tsx bench/ssh-echo.ts <port> <private key file> <user> <keys>
import { spawn } from 'node:child_process';
import { until } from './support.js';

async function main(): Promise<void> {
  const [port = '22', keyFile = '', user = '', keys = '40'] = process.argv.slice(2);
  const ssh = spawn('ssh', [
    '-tt', '-i', keyFile, '-p', port, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`,
  ], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  ssh.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString('latin1')));
  const times: number[] = [];
  try {
    await until("the shell's prompt", () => /[$#] ?$/.test(out), 30_000);
    for (let i = 0; i < Number(keys); i++) {
      const key = 'abcdefghij'[i % 10] as string;
      const before = out.length;
      const t0 = performance.now();
      ssh.stdin.write(key);
      await until('the echo', () => out.indexOf(key, before) >= 0, 10_000, 1);
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 60));
    }
  } finally {
    ssh.kill();
  }
  process.stdout.write(`${JSON.stringify(times)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
