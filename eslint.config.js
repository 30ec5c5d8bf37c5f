// Lint rules: typescript-eslint recommended, limits that keep functions small and readable, and the layers of the
// code (docs/adr/0014-layers.md): which folder may import which, and no import cycle.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { noImportCycle } from './eslint/import-cycles.js';

// The layers, lowest first, and the folders each may import besides its own. Every folder imports only folders
// listed above it, so folders can never import each other in a circle. src/cli (the commands, and the one place
// that assembles Orion), test/ and bench/ stand on top and may import anything.
const LAYERS = {
  'src/base': [],
  'src/api': ['src/base'],
  'src/telemetry': ['src/base'],
  'src/store': ['src/base', 'src/api'],
  'src/exec': ['src/base', 'src/api', 'src/telemetry'],
  'src/dataplane': ['src/base', 'src/telemetry'],
  'src/runtime': ['src/base', 'src/api', 'src/telemetry', 'src/store'],
  'src/folder': ['src/base', 'src/api', 'src/telemetry', 'src/store'],
  'src/kube': ['src/base', 'src/api', 'src/telemetry', 'src/store', 'src/exec', 'src/runtime'],
  'src/server': ['src/base', 'src/api', 'src/telemetry', 'src/store'],
  controllers: ['src/base', 'src/api', 'src/telemetry', 'src/store', 'src/exec', 'src/runtime'],
  // The web app runs in a browser: it talks to the portal over HTTP only and imports nothing of Orion's.
  'src/ui': [],
};
const TOP = ['src/cli', 'test', 'bench'];

/** A relative import that lands in `folder`: '../kube/x.js' from src/, '../../src/kube/x.js' from controllers/. */
function importInto(folder) {
  const path = folder.startsWith('src/') ? `(src/)?${folder.slice(4)}` : folder;
  return `^(\\.\\./)+${path}/`;
}

function layerRules(folder, allowed) {
  const forbidden = [...Object.keys(LAYERS), ...TOP].filter((f) => f !== folder && !allowed.includes(f));
  return {
    files: [`${folder}/**/*.ts`, `${folder}/**/*.tsx`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: forbidden.map((f) => ({
          regex: importInto(f),
          message: `${folder} may import only ${allowed.length > 0 ? allowed.join(', ') : 'nothing of ours'} (docs/adr/0014-layers.md); ${f} is not below it.`,
        })),
      }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'coverage/**', '**/.orion/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { orion: { rules: { 'no-import-cycle': noImportCycle } } },
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 15],
      'max-depth': ['error', 4],
      'max-params': ['error', 5],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'orion/no-import-cycle': 'error',
    },
  },
  ...Object.entries(LAYERS).map(([folder, allowed]) => layerRules(folder, allowed)),
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
