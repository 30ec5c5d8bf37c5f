// `orion worker stop|kill|start NAME`: asks the running quickstart to act on one of its workers. The controls are
// behind the portal's door: an admin token (--token, $ORION_TOKEN, or the one the quickstart saved in its state
// directory, readable by root only).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseListen } from '../server/http.js';
import { packageRoot } from '../base/package-root.js';
import { resolveStateDir } from './paths.js';

export interface WorkerCommandOptions {
  listen: string;
  dir?: string;
  token?: string;
}

export const QUICKSTART_ADMIN_TOKEN = join('quickstart', 'admin.token');

export async function workerCommand(action: string, name: string, options: WorkerCommandOptions): Promise<string> {
  if (!['stop', 'kill', 'start'].includes(action)) throw new Error('action must be stop, kill or start');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new Error(`invalid worker name "${name}"`);
  const { host, port } = parseListen(options.listen);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/quickstart/workers/${name}/${action}`;
  const token = options.token ?? process.env.ORION_TOKEN ?? (await savedAdminToken(options.dir));
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  } catch {
    throw new Error(`no quickstart answers on ${options.listen}; start it with: npm start`);
  }
  const body = (await response.json()) as { error?: string; detail?: string; running?: boolean };
  if (!response.ok) throw new Error(body.detail ?? body.error ?? `HTTP ${response.status}`);
  return `worker ${name}: ${body.running ? 'running' : 'stopped'}`;
}

async function savedAdminToken(dir: string | undefined): Promise<string> {
  const stateDir = resolveStateDir({ dir: dir ?? join(packageRoot(), 'examples', 'quickstart') });
  try {
    return (await readFile(join(stateDir, QUICKSTART_ADMIN_TOKEN), 'utf8')).trim();
  } catch {
    throw new Error(`no admin token: give --token or $ORION_TOKEN (the quickstart's is in ${join(stateDir, QUICKSTART_ADMIN_TOKEN)}, readable by root)`);
  }
}
