// SSH probes on a worker thread. A fleet's probes are a steady stream of SSH handshakes (1,000 Nodes every 10 s are
// 100 a second), and their key exchanges, signatures and packet parsing are CPU work: on the main event loop they
// delayed everything else Orion does there — a console's keystrokes waited behind them (bench/ui.ts: 58 ms event
// loop delay at p50 during the keystroke echo). The worker runs probeNode itself; the main loop only posts targets
// and receives results. A probe the worker cannot answer (it stopped, or said nothing in time) is an error thrown
// to the caller, never a failed probe: Orion's trouble must not mark a node Dead.
import { Worker } from 'node:worker_threads';
import { runsCompiled, tsxExportUrl } from '../base/tsx-loader.js';
import type { ProbeResult, ProbeTarget } from './ssh.js';

/** How long past the probe's own timeout the worker may take to answer before the probe is given up. */
const ANSWER_GRACE_MS = 5_000;

interface Pending {
  resolve: (result: ProbeResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class ProbeWorkerError extends Error {
  override name = 'ProbeWorkerError';
}

export class ProbePool {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Probes the target on the worker thread (started on first use, and again after it stopped). */
  readonly probe = (target: ProbeTarget): Promise<ProbeResult> => {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new ProbeWorkerError(`the probe worker gave no answer within ${target.timeoutMs + ANSWER_GRACE_MS} ms`)), target.timeoutMs + ANSWER_GRACE_MS);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, target });
    });
  };

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new ProbeWorkerError('Orion is stopping'));
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = spawnWorker();
    worker.unref();
    worker.on('message', ({ id, result }: { id: number; result: ProbeResult }) => this.settle(id, result));
    const stopped = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(new ProbeWorkerError(`the probe worker stopped: ${why}`));
    };
    worker.on('error', (err) => stopped(err.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  private settle(id: number, outcome: ProbeResult | Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  private failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
  }
}

/** The worker runs probe-worker.js once compiled, or probe-worker.ts with tsx's loader registered first (tsx-loader.ts). */
function spawnWorker(): Worker {
  if (runsCompiled(import.meta.url)) return new Worker(new URL('./probe-worker.js', import.meta.url));
  const entry = new URL('./probe-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsxExportUrl('./esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
}
