// Logs in as a tenant with the real ssh client, to prove a rental's connection works.
import { execa } from 'execa';

export async function sshLogin(keyFile: string, host: string, port: number, user: string): Promise<{ ok: boolean; output: string }> {
  const result = await execa(
    'ssh',
    [
      '-i', keyFile,
      '-p', String(port),
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'ConnectTimeout=5',
      '-o', 'LogLevel=ERROR',
      `${user}@${host}`,
      'id -un',
    ],
    { reject: false, timeout: 20_000, stdin: 'ignore' },
  );
  return { ok: result.exitCode === 0 && String(result.stdout).trim() === user, output: `${result.stdout}${result.stderr}` };
}
