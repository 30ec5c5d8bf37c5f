// `orion worker stop|kill|start NAME`: asks the running quickstart to act on one of its workers.
import { parseListen } from '../server/http.js';

export async function workerCommand(action: string, name: string, listen: string): Promise<string> {
  if (!['stop', 'kill', 'start'].includes(action)) throw new Error('action must be stop, kill or start');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new Error(`invalid worker name "${name}"`);
  const { host, port } = parseListen(listen);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/quickstart/workers/${name}/${action}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  } catch {
    throw new Error(`no quickstart answers on ${listen}; start it with: npm start`);
  }
  const body = (await response.json()) as { error?: string; running?: boolean };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return `worker ${name}: ${body.running ? 'running' : 'stopped'}`;
}
