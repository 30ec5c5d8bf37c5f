// Orion's helper processes and threads (the probe worker, the console process) run the compiled .js next to their
// starter in dist/, or — from the TypeScript sources (tests, `tsx`) — the .ts, with tsx's loader registered in them
// first: neither a worker thread nor a child process inherits the loader hooks of the one that starts it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Whether this module runs compiled (dist/) rather than from the TypeScript sources. */
export function runsCompiled(moduleUrl: string): boolean {
  return moduleUrl.endsWith('.js');
}

/**
 * The file URL of one of tsx's ESM exports: "." is its loader (`node --import`), "./esm/api" its register API
 * (require.resolve would give their CommonJS builds).
 */
export function tsxExportUrl(subpath: '.' | './esm/api'): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, string | { import: { default: string } }> };
  const entry = exports[subpath];
  const file = typeof entry === 'string' ? entry : entry?.import.default;
  if (!file) throw new Error(`tsx has no ${subpath} export: cannot start a helper from the TypeScript sources`);
  return pathToFileURL(join(dirname(manifest), file)).href;
}
