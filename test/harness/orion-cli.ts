// Runs the CLI from source (node --import tsx test/harness/orion-cli.ts ...): tests spawn Orion processes
// without a build.
import { main } from '../../src/cli/main.js';

main(process.argv).catch((err) => {
  console.error(`orion: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
