// How the door is reached: HTTP on loopback, HTTPS anywhere, plain HTTP elsewhere only when told (--insecure-http,
// e.g. behind a TLS-terminating proxy). Host-header and Origin checks stop DNS rebinding (a page of a hostile name
// that resolves to this address) and cross-site requests from browsers: a request must name this server by a host
// it knows, and a browser's cross-origin write carries an Origin that is not ours.
import type { RequestHandler } from 'express';
import { isIP } from 'node:net';
import { sendProblem } from './problem.js';

export interface TransportOptions {
  /** Host names (no port) this server answers to besides the loopback names and the address it listens on. */
  allowedHosts?: readonly string[];
  /** Origins (scheme://host[:port]) allowed to send cross-origin writes, e.g. a web front end elsewhere. */
  allowedOrigins?: readonly string[];
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** The host of a Host header or an Origin's authority, lower-cased, without its port. */
export function hostOf(authority: string): string {
  const trimmed = authority.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(0, trimmed.indexOf(']') + 1);
  return trimmed.replace(/:\d+$/, '');
}

/** The transport rules as one function: the refusal (status, detail) of a request, or undefined when it may pass. */
export type TransportRule = (method: string, host: string | undefined, origin: string | undefined) => { status: number; detail: string } | undefined;

export function transportRule(listenHost: string, options: TransportOptions): TransportRule {
  const allowed = new Set([...LOOPBACK_NAMES, ...(options.allowedHosts ?? []).map((h) => hostOf(h))]);
  if (!['0.0.0.0', '::', ''].includes(listenHost)) allowed.add(hostOf(listenHost.includes(':') ? `[${listenHost}]` : listenHost));
  const origins = new Set((options.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/$/, '')));
  return (method, host, origin) => {
    if (!host || !allowed.has(hostOf(host))) {
      return { status: 421, detail: `this server does not answer to the host "${String(host ?? '')}"; an admin can add it with --allowed-host` };
    }
    if (origin && origin !== 'null' && !isSafe(method)) {
      const sameHost = safeUrl(origin)?.host.toLowerCase() === host.toLowerCase();
      if (!sameHost && !origins.has(origin.toLowerCase())) {
        return { status: 403, detail: `cross-origin requests from ${origin} are refused; an admin can allow the origin with --allowed-origin` };
      }
    } else if (origin === 'null' && !isSafe(method)) {
      return { status: 403, detail: 'requests from an opaque origin are refused' };
    }
    return undefined;
  };
}

export function hostCheck(listenHost: string, options: TransportOptions): RequestHandler {
  const rule = transportRule(listenHost, options);
  return (req, res, next) => {
    const refusal = rule(req.method, req.headers.host, req.headers.origin);
    if (refusal) return sendProblem(res, refusal.status, refusal.detail);
    next();
  };
}

function isSafe(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
