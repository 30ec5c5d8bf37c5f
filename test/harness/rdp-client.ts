// Test harness: a real RDP client — FreeRDP (Debian `freerdp2-x11`) on a virtual display (`Xvfb`) — run inside a
// network namespace (ip netns exec), where the desktop's address is. The password goes to xfreerdp on stdin
// (/from-stdin), never in its arguments. Xvfb keeps its screen in a file (-fbdir, XWD format): a screenshot is
// that file read back and written out as a PNG, with a measure of how much is on it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';

export interface RdpClientOptions {
  netns: string;
  host: string;
  port: number;
  user: string;
  password: string;
  domain?: string;
  /** Where the display's frame buffer and the client's log go. */
  dir: string;
  width?: number;
  height?: number;
}

export interface Screenshot {
  /** Where it was written as a PNG (when a file was given). */
  file?: string;
  width: number;
  height: number;
  /** Distinct colours on the screen. */
  colours: number;
  /** Share of the pixels that have the most common colour (1: a blank screen). */
  dominantShare: number;
}

/** Xvfb and xfreerdp, connected; disconnect() ends both. */
export class RdpClient {
  private constructor(
    private readonly xvfb: ChildProcess,
    readonly client: ChildProcess,
    readonly display: string,
    readonly dir: string,
    readonly logFile: string,
  ) {}

  /** Starts the display, then the client; resolves once the client runs (the login happens on the server side). */
  static async connect(o: RdpClientOptions): Promise<RdpClient> {
    await mkdir(o.dir, { recursive: true });
    const width = o.width ?? 1024;
    const height = o.height ?? 768;
    const logFile = join(o.dir, 'xfreerdp.log');
    const log = createWriteStream(logFile);
    const xvfb = spawn('ip', ['netns', 'exec', o.netns, 'Xvfb', '-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-fbdir', o.dir, '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    xvfb.stderr?.pipe(log, { end: false });
    const display = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error('Xvfb did not start within 30 s')), 30_000);
      (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(`:${text.trim()}`);
        }
      });
      xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (code ${code})`)));
    });
    const args = [
      // /from-stdin:force reads the password before connecting: xrdp (TLS, no NLA) never asks for it, and a client
      // that sent none would stop at xrdp's login screen.
      `/v:${o.host}:${o.port}`, `/u:${o.user}`, ...(o.domain ? [`/d:${o.domain}`] : []), '/from-stdin:force', '/cert:ignore',
      `/size:${width}x${height}`, '/bpp:24', '/log-level:INFO', '-grab-keyboard',
    ];
    const client = spawn('ip', ['netns', 'exec', o.netns, 'xfreerdp', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: display },
    });
    client.stdout?.pipe(log, { end: false });
    client.stderr?.pipe(log, { end: false });
    client.stdin?.end(`${o.password}\n`);
    return new RdpClient(xvfb, client, display, o.dir, logFile);
  }

  get running(): boolean {
    return this.client.exitCode === null && this.client.signalCode === null;
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** The screen now, and written as a PNG when a file is given. */
  async screenshot(file?: string): Promise<Screenshot> {
    const xwd = await readFile(join(this.dir, 'Xvfb_screen0'));
    const shot = decodeXwd(xwd);
    if (file) await writeFile(file, encodePng(shot.width, shot.height, shot.rgb));
    return { ...(file ? { file } : {}), width: shot.width, height: shot.height, ...colourStats(shot.rgb) };
  }

  /** Ends the client (the RDP connection closes; the server keeps or ends the session as it is configured), then the display. */
  async disconnect(): Promise<void> {
    await stop(this.client);
    await stop(this.xvfb);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** An XWD file (what Xvfb -fbdir writes: ZPixmap, 32 bits per pixel) as RGB bytes. */
export function decodeXwd(buf: Buffer): { width: number; height: number; rgb: Buffer } {
  const field = (i: number): number => buf.readUInt32BE(i * 4);
  const headerSize = field(0);
  const [format, width, height, byteOrder, bitsPerPixel, bytesPerLine] = [field(2), field(4), field(5), field(7), field(11), field(12)];
  const [redMask, greenMask, blueMask] = [field(14), field(15), field(16)];
  if (format !== 2 || bitsPerPixel !== 32) throw new Error(`unsupported XWD image: format ${format}, ${bitsPerPixel} bits per pixel`);
  // The pixels end the file (after the header, the window name and the colour map, whose padding varies).
  const data = buf.length - height * bytesPerLine;
  if (data < headerSize) throw new Error('truncated XWD image');
  const shift = (mask: number): number => Math.log2(mask & -mask);
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = data + y * bytesPerLine + x * 4;
      const pixel = byteOrder === 0 ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
      const o = (y * width + x) * 3;
      rgb[o] = (pixel & redMask) >>> shift(redMask);
      rgb[o + 1] = (pixel & greenMask) >>> shift(greenMask);
      rgb[o + 2] = (pixel & blueMask) >>> shift(blueMask);
    }
  }
  return { width, height, rgb };
}

/** A minimal PNG: 8-bit RGB, no filtering. */
export function encodePng(width: number, height: number, rgb: Buffer): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) rgb.copy(rows, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function colourStats(rgb: Buffer): { colours: number; dominantShare: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < rgb.length; i += 3) {
    const c = ((rgb[i] as number) << 16) | ((rgb[i + 1] as number) << 8) | (rgb[i + 2] as number);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  return { colours: counts.size, dominantShare: top / (rgb.length / 3) };
}
