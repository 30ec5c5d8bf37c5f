// A small HTTP client for the Kubernetes API: @kubernetes/client-node's KubeConfig supplies the server,
// TLS material and credentials (kubeconfig file or in-cluster service account); requests and watch
// streams go over one keep-alive https agent. Every request is counted by verb, resource and code.
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeApiRequests } from '../telemetry/metrics.js';

export interface KubeConnectOptions {
  /** A kubeconfig file; otherwise in-cluster config when in a pod, else the default kubeconfig. */
  kubeconfig?: string;
}

export interface RequestInfo {
  verb: string;
  resource: string;
  code: string;
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** The verb for the request counter (get, list, create, update, patch, delete). */
  verb: string;
  /** The resource for the request counter (rentals, rentals/status, leases, events ...). */
  resource: string;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

/** A Kubernetes API error with the HTTP status and the server's Status message. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface WatchStream {
  /** Resolves when the stream ends (server timeout, closed connection); rejects on errors. */
  readonly done: Promise<void>;
  abort(): void;
}

export interface WatchRequest {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  resource: string;
  /** Abort the stream when nothing (not even a bookmark) arrived for this long. */
  idleTimeoutMs: number;
  onEvent(event: { type: string; object: Record<string, unknown> }): void;
}

export function loadKubeConfig(options: KubeConnectOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export class KubeClient {
  readonly server: URL;
  private agent?: http.Agent;
  private connection?: { options: https.RequestOptions; at: number };
  private readonly observers = new Set<(info: RequestInfo) => void>();

  constructor(readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  static connect(options: KubeConnectOptions = {}): KubeClient {
    return new KubeClient(loadKubeConfig(options));
  }

  /** Calls the observer after every request (benchmarks attribute requests to reconciles). */
  observe(observer: (info: RequestInfo) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Sends a request and returns the decoded JSON body; a status >= 400 throws a KubeApiError. */
  async request<T = Record<string, unknown>>(req: KubeRequest): Promise<T> {
    const options = await this.requestOptions(req.method, req.path, req.query, req.contentType);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    // Node sends a DELETE's body without framing unless told its length (it chunks only POST, PUT and PATCH), which
    // the server would read as the next request on the kept-alive connection.
    if (payload !== undefined) options.headers = { ...options.headers, 'content-length': Buffer.byteLength(payload) };
    let code = 'error';
    try {
      const { status, text } = await this.send(options, payload, req.timeoutMs ?? REQUEST_TIMEOUT_MS);
      code = String(status);
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (status >= 400) throw apiError(status, body);
      return body as T;
    } finally {
      this.count({ verb: req.verb, resource: req.resource, code });
    }
  }

  /** Opens a watch stream: one JSON event per line, until the server ends it or it goes idle. */
  async watch(req: WatchRequest): Promise<WatchStream> {
    const options = await this.requestOptions('GET', req.path, { ...req.query, watch: true });
    const client = this.server.protocol === 'https:' ? https : http;
    let request: http.ClientRequest | undefined;
    const done = new Promise<void>((resolve, reject) => {
      request = client.request(options, (res) => {
        this.count({ verb: 'watch', resource: req.resource, code: String(res.statusCode ?? 0) });
        if (res.statusCode !== 200) return void readAll(res).then((text) => reject(apiError(res.statusCode ?? 0, safeJson(text))), reject);
        const idle = new IdleTimer(req.idleTimeoutMs, () => res.destroy(new WatchIdleError(req.idleTimeoutMs)));
        res.on('data', () => idle.reset());
        res.on('error', (err) => (idle.stop(), reject(err)));
        res.on('close', () => (idle.stop(), res.errored ? reject(res.errored) : resolve()));
        const lines = createInterface({ input: res });
        lines.on('error', () => undefined); // readline re-emits the response's errors, handled above
        lines.on('line', (line) => {
          if (!line.trim()) return;
          try {
            req.onEvent(JSON.parse(line) as { type: string; object: Record<string, unknown> });
          } catch (err) {
            res.destroy(err as Error);
          }
        });
      });
      request.setTimeout(req.idleTimeoutMs, () => request?.destroy(new WatchIdleError(req.idleTimeoutMs)));
      request.on('error', (err) => {
        this.count({ verb: 'watch', resource: req.resource, code: 'error' });
        reject(err);
      });
      request.end();
    });
    return { done, abort: () => request?.destroy(new WatchAbortedError()) };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private count(info: RequestInfo): void {
    kubeApiRequests.inc({ ...info });
    for (const observer of this.observers) observer(info);
  }

  private async requestOptions(
    method: string,
    path: string,
    query: KubeRequest['query'] = {},
    contentType = 'application/json',
  ): Promise<https.RequestOptions> {
    const opts = await this.connectionOptions();
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    this.agent ??= this.makeAgent(opts);
    return {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      agent: this.agent,
      auth: opts.auth,
      headers: { ...(opts.headers ?? {}), accept: 'application/json', 'content-type': contentType },
    };
  }

  /** TLS material and credentials from the kubeconfig, re-read every 30 s (rotated service account tokens). */
  private async connectionOptions(): Promise<https.RequestOptions> {
    if (this.connection && Date.now() - this.connection.at < CONNECTION_OPTIONS_TTL_MS) return this.connection.options;
    const options: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    this.connection = { options, at: Date.now() };
    return options;
  }

  private makeAgent(opts: https.RequestOptions): http.Agent {
    if (this.server.protocol !== 'https:') return new http.Agent({ keepAlive: true, maxSockets: 64 });
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = opts;
    return new https.Agent({ keepAlive: true, maxSockets: 64, ca, cert, key, pfx, passphrase, rejectUnauthorized, servername });
  }

  private send(options: https.RequestOptions, payload: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
    const client = this.server.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request(options, (res) => {
        readAll(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
      });
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      request.on('error', reject);
      request.end(payload);
    });
  }
}

const REQUEST_TIMEOUT_MS = 30_000;
const CONNECTION_OPTIONS_TTL_MS = 30_000;

export class WatchIdleError extends Error {
  constructor(ms: number) {
    super(`watch silent for ${ms} ms`);
    this.name = 'WatchIdleError';
  }
}

export class WatchAbortedError extends Error {
  constructor() {
    super('watch aborted');
    this.name = 'WatchAbortedError';
  }
}

class IdleTimer {
  private timer: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(onIdle, ms);
  }

  reset(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

function readAll(stream: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function safeJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { message: text.slice(0, 200) };
  }
}

function apiError(status: number, body: Record<string, unknown>): KubeApiError {
  const reason = typeof body.reason === 'string' ? body.reason : `HTTP${status}`;
  const message = typeof body.message === 'string' ? body.message : `HTTP ${status}`;
  return new KubeApiError(status, reason, message);
}
