// Orion's side of the console process (console-process.ts). It is forked on the first terminal and again after it
// stopped; each terminal's TCP connection goes to it with the login the target resolved to, and it says when the
// terminal closed. What cannot change process stays bridged in Orion, as before: a TLS connection (its session keys
// live in this process) and a way to the machine that Orion itself opens (an SSH tunnel, a network namespace).
import { fork, type ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { runsCompiled, tsxExportUrl } from '../../base/tsx-loader.js';
import type { SshEndpoint } from './targets.js';

/** One terminal handed to the console process, with its connection. */
export interface HandOff {
  type: 'ssh';
  id: number;
  endpoint: Omit<SshEndpoint, 'sock'>;
  request: { url: string; headers: IncomingMessage['headers'] };
  /** Bytes read past the upgrade request (base64); a browser sends none before the handshake's answer. */
  head: string;
}

type FromConsoleProcess = { type: 'ready' } | { type: 'closed'; id: number };

/** How long the console process may take to start before a terminal is bridged in Orion instead. */
const START_TIMEOUT_MS = 15_000;

export class ConsoleProcessUnavailable extends Error {
  override name = 'ConsoleProcessUnavailable';
}

export class ConsoleHost {
  private starting: Promise<ChildProcess> | undefined;
  private readonly open = new Map<number, () => void>();
  private nextId = 1;
  private closed = false;

  /** Whether this connection and this login can go to the console process. */
  takes(socket: Duplex, endpoint: SshEndpoint): socket is Socket {
    return !this.closed && socket instanceof Socket && !(socket instanceof TLSSocket) && endpoint.sock === undefined;
  }

  /**
   * Hands the connection over and resolves when its terminal closed (or the process stopped). Throws
   * ConsoleProcessUnavailable, with the connection still here and untouched, when the process cannot start.
   */
  async handOff(socket: Socket, req: IncomingMessage, head: Buffer, endpoint: SshEndpoint): Promise<void> {
    const child = await this.start();
    const id = this.nextId++;
    const { sock: _way, ...login } = endpoint;
    const message: HandOff = { type: 'ssh', id, endpoint: login, request: { url: req.url ?? '/', headers: req.headers }, head: head.toString('base64') };
    return new Promise((resolve) => {
      this.open.set(id, resolve);
      child.send(message, socket, (err) => {
        if (!err) return;
        this.open.delete(id);
        socket.destroy();
        resolve();
      });
    });
  }

  /** Stops the process: its terminals close (Orion is stopping). */
  close(): void {
    this.closed = true;
    void this.starting?.then((child) => child.kill(), () => undefined);
  }

  private start(): Promise<ChildProcess> {
    if (this.closed) return Promise.reject(new ConsoleProcessUnavailable('Orion is stopping'));
    this.starting ??= new Promise<ChildProcess>((resolve, reject) => {
      const child = forkConsoleProcess();
      const timer = setTimeout(() => {
        reject(new ConsoleProcessUnavailable(`the console process did not start within ${START_TIMEOUT_MS / 1000} s`));
        child.kill();
      }, START_TIMEOUT_MS);
      child.on('message', (message: FromConsoleProcess) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          // Orion's lifetime is its server's: the console process never keeps it running.
          child.unref();
          child.channel?.unref();
          resolve(child);
        } else if (message.type === 'closed') {
          this.settle(message.id);
        }
      });
      child.once('error', (err) => reject(new ConsoleProcessUnavailable(`the console process could not start: ${err.message}`)));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new ConsoleProcessUnavailable(`the console process stopped (${signal ?? `exit code ${code}`})`));
        // Its terminals ended with it; the next one starts it again.
        this.starting = undefined;
        for (const id of [...this.open.keys()]) this.settle(id);
      });
    });
    return this.starting;
  }

  private settle(id: number): void {
    this.open.get(id)?.();
    this.open.delete(id);
  }
}

/**
 * The compiled console-process.js next to this module, or console-process.ts with tsx's loader (tsx-loader.ts). Its
 * output goes to Orion's; the IPC channel carries the hand-offs (serialization "advanced": headers stay as they are).
 */
function forkConsoleProcess(): ChildProcess {
  const compiled = runsCompiled(import.meta.url);
  const entry = new URL(compiled ? './console-process.js' : './console-process.ts', import.meta.url);
  return fork(entry, [], {
    execArgv: compiled ? [] : ['--import', tsxExportUrl('.')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
}
