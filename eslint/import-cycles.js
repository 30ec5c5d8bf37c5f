// ESLint rule orion/no-import-cycle: no file may import, directly or through other files, a file that imports it
// back. Relative `.js` specifiers are resolved to the `.ts` files beside them on disk; type-only imports count too,
// since they tie the files together just the same. (The layer rule in eslint.config.js keeps folders in order;
// this one keeps the files of one folder from going round in a circle.)
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const STATEMENT = /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"](\.[^'"]+)['"]|^\s*import\s*['"](\.[^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** file → the files it imports, read once per lint run. */
const imports = new Map();

function resolveSpecifier(from, specifier) {
  const file = resolve(dirname(from), specifier.replace(/\.js$/, '.ts'));
  return existsSync(file) ? file : undefined;
}

function importsOf(file) {
  let found = imports.get(file);
  if (found) return found;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const specifiers = [...text.matchAll(STATEMENT)].map((m) => m[1] ?? m[2]);
  specifiers.push(...[...text.matchAll(DYNAMIC)].map((m) => m[1]));
  found = [...new Set(specifiers.map((s) => resolveSpecifier(file, s)).filter(Boolean))];
  imports.set(file, found);
  return found;
}

/** The files from `start` back to `target`, if importing `start` leads back to `target`. */
function pathBack(start, target) {
  const cameFrom = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    if (file === target) {
      const path = [];
      for (let f = file; f !== undefined; f = cameFrom.get(f)) path.unshift(f);
      return path;
    }
    for (const next of importsOf(file)) {
      if (cameFrom.has(next)) continue;
      cameFrom.set(next, file);
      queue.push(next);
    }
  }
  return undefined;
}

export const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'forbid imports that lead back to the importing file' },
    messages: { cycle: 'import cycle: {{path}}' },
    schema: [],
  },
  create(context) {
    const file = resolve(context.filename);
    const check = (node) => {
      const specifier = node.source?.value;
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const target = resolveSpecifier(file, specifier);
      const back = target && pathBack(target, file);
      if (back) context.report({ node, messageId: 'cycle', data: { path: [file, ...back].map((f) => relative(process.cwd(), f)).join(' -> ') } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};
