// `npm run crds`: regenerates the CRDs from the schemas into crds/ and its copies for kustomize and Helm
// (kustomize cannot load files from outside its own folder, so the copies are committed too).
import { join } from 'node:path';
import { main } from './main.js';
import { packageRoot } from '../base/package-root.js';

const root = packageRoot();
await main(['node', 'orion', 'crds', '--write', ...['crds', 'manifests/crds', 'helm/orion/crds'].map((d) => join(root, d))]);
