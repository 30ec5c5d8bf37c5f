#!/usr/bin/env node
// Entry point: runs the compiled CLI (built by `npm ci` through the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((err) => {
  console.error(`orion: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
