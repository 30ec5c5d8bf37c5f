// A terminal client in a process of its own (the test's process is the one whose event loop a test blocks): it
// opens a console websocket with its ticket, waits for "connected", then types one letter every --every ms, --keys
// times, and prints one JSON line per event on stdout: {"at": epoch ms, "event": "connected" | "sent" | "received",
// "text"?}. It exits when it has typed every key and waited --linger ms more.
//
//   node --import tsx test/harness/terminal-client.ts URL TICKET ORIGIN [--keys 40] [--every 50] [--linger 2000]
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { keys: { type: 'string', default: '40' }, every: { type: 'string', default: '50' }, linger: { type: 'string', default: '2000' } },
});
const [url, ticket, origin] = positionals as [string, string, string];
const say = (event: string, text?: string): void => void process.stdout.write(`${JSON.stringify({ at: Date.now(), event, ...(text !== undefined ? { text } : {}) })}\n`);

const ws = new WebSocket(url, ['orion.console.v1', `ticket.${ticket}`], { origin });
ws.on('open', () => ws.send(JSON.stringify({ type: 'resize', cols: 80, rows: 24 })));
ws.on('message', (data, isBinary) => {
  if (isBinary) return say('received', data.toString());
  const control = JSON.parse(data.toString()) as { type: string; state?: string; message?: string };
  if (control.state === 'connected') {
    say('connected');
    void typeKeys();
  } else if (control.state === 'closed') {
    say('closed', control.message);
  }
});
ws.on('close', () => process.exit(0));
ws.on('error', (err) => {
  say('error', err.message);
  process.exit(1);
});

async function typeKeys(): Promise<void> {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  await sleep(500); // the prompt first
  for (let i = 0; i < Number(values.keys); i++) {
    const key = 'abcdefghij'[i % 10] as string;
    ws.send(Buffer.from(key));
    say('sent', key);
    await sleep(Number(values.every));
  }
  await sleep(Number(values.linger));
  ws.close();
}
