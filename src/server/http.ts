// Orion's HTTP server: Prometheus metrics, liveness, readiness (store synced) — open, for probes and scrapers —
// and the portal (portal.ts) behind its door. Plain HTTP serves the portal on loopback only; elsewhere it needs
// TLS (--tls-cert/--tls-key) or an explicit --insecure-http (a TLS-terminating proxy in front): otherwise the
// portal's routes answer 403 and say so, and only metrics and probes are served.
import express, { type Express } from 'express';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Store } from '../store/store.js';
import { registry } from '../telemetry/metrics.js';
import { PORTAL_PREFIXES, buildPortal, type BuiltPortal, type PortalSetup } from './portal.js';
import { sendProblem } from './problem.js';
import { isLoopback } from './transport.js';
import { webAppRoutes } from './web-app.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface ServerOptions {
  store: Store;
  isLeaderOrStandby?: () => boolean;
  /** The portal; without it only metrics and probes are served. */
  portal?: PortalSetup;
  /** Where the server listens ([host]:port), for the host check and the plain-HTTP rule. */
  listen?: string;
  tls?: TlsFiles;
  /** Serve the portal over plain HTTP on a non-loopback address (behind a TLS-terminating proxy). */
  insecureHttp?: boolean;
}

export interface OrionApp {
  app: Express;
  portal?: BuiltPortal;
}

export function createApp(options: ServerOptions): Express {
  return createOrionApp(options).app;
}

export function createOrionApp({ store, portal, listen: address = '127.0.0.1:9477', tls, insecureHttp }: ServerOptions): OrionApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
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
  if (!portal) return { app };
  const { host } = parseListen(address);
  if (!tls && !insecureHttp && !isLoopback(host)) {
    const why = `the portal is not served over plain HTTP on ${address}: give --tls-cert and --tls-key, or --insecure-http behind a TLS-terminating proxy`;
    app.use(PORTAL_PREFIXES, (_req, res) => sendProblem(res, 403, why));
    return { app };
  }
  const built = buildPortal(portal, host);
  app.use(built.router);
  app.use(webAppRoutes(undefined, built.hostCheck));
  return { app, portal: built };
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

export function listen(app: Express, address: string, tls?: TlsFiles): Promise<Server> {
  const { host, port } = parseListen(address);
  return new Promise((resolve, reject) => {
    if (tls) {
      const server = createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, app);
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
      return;
    }
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.once('error', reject);
  });
}
