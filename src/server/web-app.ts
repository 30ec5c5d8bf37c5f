// The web app (src/ui, built by Vite into dist/ui) on the portal's origin: its hashed assets with a long cache
// life, index.html for every other page path (the app routes in the browser), and headers that keep it in its
// lane: a Content-Security-Policy that allows only this origin's scripts and connections, no framing, no referrer.
// When the app is not built, `/` says how to build it instead of a bare 404.
import express, { Router, type RequestHandler } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../base/package-root.js';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // xterm.js and noVNC set styles at run time; nothing else is inline.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Paths that belong to the server, never to the app's router. */
const SERVER_PATHS = /^\/(api|ansible|auth|console\/ssh|console\/vnc|metrics|healthz|readyz|quickstart)(\/|$)/;

export function webAppDir(): string {
  return join(packageRoot(), 'dist', 'ui');
}

export function webAppRoutes(dir = webAppDir(), guard?: RequestHandler): Router {
  const router = Router();
  const headers: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  };
  const index = join(dir, 'index.html');
  router.use('/assets', headers, express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: false }));
  router.get(/.*/, ...(guard ? [guard] : []), headers, (req, res, next) => {
    if (SERVER_PATHS.test(req.path)) return next();
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The web app is not built: run `npm run build` (it builds the CLI and the app into dist/).\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
