// `orion run` in folder mode from a JSON file of RunOptions (src/cli/run.ts's startOrion: every controller of the
// one registration, src/cli/controllers.ts, as `orion run --dir` has them), for test beds that run Orion as its own process — in particular inside a
// network namespace (`ip netns exec NS node --import tsx test/harness/orion-run.ts OPTIONS.json`), where the
// guests it configures and checks are reachable. The options carry no secret: Secrets are manifests in the
// folder, as in any folder-mode Orion. SIGTERM or SIGINT stops it as `orion run` stops.
import { readFile } from 'node:fs/promises';
import { startOrion, type RunOptions } from '../../src/cli/run.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: orion-run.ts OPTIONS.json');
  process.exit(2);
}
const options = JSON.parse(await readFile(file, 'utf8')) as RunOptions;
const orion = await startOrion(options);
const stop = (): void => {
  orion.stop().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
