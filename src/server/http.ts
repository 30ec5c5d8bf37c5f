// The operator's HTTP endpoint: Prometheus metrics, liveness, readiness (store synced) and a
// read-only JSON view of the resources.
import express, { type Express } from 'express';
import type { Server } from 'node:http';
import { findKind } from '../api/kinds.js';
import type { Store } from '../store/store.js';
import { registry } from '../telemetry/metrics.js';

export interface ServerOptions {
  store: Store;
  isLeaderOrStandby?: () => boolean;
}

export function createApp({ store }: ServerOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    if (store.synced) res.type('text/plain').send('ok\n');
    else res.status(503).type('text/plain').send('store not synced\n');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/api/v1alpha1/:kind', (req, res) => {
    const def = findKind(req.params.kind);
    if (!def) return void res.status(404).json({ error: `unknown kind "${req.params.kind}"` });
    res.json({ items: store.list(def.kind) });
  });
  return app;
}

/** Parses `host:port`, `:port` or `port`; defaults to loopback so nothing is exposed by accident. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(listen);
  if (!match) throw new Error(`--listen must be [host]:port, got "${listen}"`);
  const port = Number(match[2]);
  if (port > 65535) throw new Error(`--listen port out of range: ${port}`);
  const host = match[1] ? match[1].replace(/^\[(.*)\]$/, '$1') : '127.0.0.1';
  return { host, port };
}

export function listen(app: Express, address: string): Promise<Server> {
  const { host, port } = parseListen(address);
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.once('error', reject);
  });
}
