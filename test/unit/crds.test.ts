import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { allCrds, toStructural } from '../../src/api/crds.js';
import { KINDS } from '../../src/api/kinds.js';

const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));
const STALE = 'crds/ is stale: the schemas changed; run `npm run crds` and commit crds/, manifests/crds/ and helm/orion/crds/';

type Schema = Record<string, unknown>;

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

/** Every schema node below `schema`, with its path (properties, items, additionalProperties). */
function* schemaNodes(schema: Schema, path = '$'): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {})) {
    yield* schemaNodes(child, `${path}.${name}`);
  }
  if (schema.items && typeof schema.items === 'object') yield* schemaNodes(schema.items as Schema, `${path}[]`);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    yield* schemaNodes(schema.additionalProperties as Schema, `${path}{}`);
  }
}

/** Every object anywhere in the value (to catch keywords in places schemaNodes does not walk). */
function* allObjects(value: unknown, path = '$'): Generator<[string, Schema]> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* allObjects(v, `${path}[${i}]`);
  } else if (typeof value === 'object' && value !== null) {
    yield [path, value as Schema];
    for (const [k, v] of Object.entries(value)) yield* allObjects(v, `${path}.${k}`);
  }
}

const generated = allCrds();
const crds = generated.map((g) => ({ file: g.file, crd: parse(g.yaml) as Crd }));
const classes = crds.filter(({ crd }) => crd.spec.scope === 'Cluster');
const reconciled = crds.filter(({ crd }) => crd.spec.scope !== 'Cluster');

describe('committed CRDs', () => {
  it('crds/ holds exactly one file per kind', () => {
    const committed = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).sort();
    expect(committed, STALE).toEqual(generated.map((g) => g.file).sort());
  });

  it.each(generated.map((g) => [g.file, g.yaml]))('crds/%s equals what the schemas generate', (file, yaml) => {
    const committed = readFileSync(join(CRD_DIR, file), 'utf8');
    expect(committed, STALE).toBe(yaml);
  });
});

describe('generated CRDs', () => {
  it.each(crds)('$file: names, short names, category orion, one served storage version', ({ crd }) => {
    const kind = KINDS.find((k) => k.kind === crd.spec.names.kind);
    expect(kind).toBeDefined();
    expect(crd.metadata.name).toBe(`${kind?.plural}.orion.lab`);
    expect(crd.spec.group).toBe('orion.lab');
    expect(crd.spec.names.shortNames?.length).toBeGreaterThan(0);
    expect(crd.spec.names.categories).toEqual(['orion']);
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
  });

  it.each(reconciled)('$file: status subresource and printer columns with Ready and Age', ({ crd }) => {
    const version = crd.spec.versions[0];
    expect(version?.subresources).toEqual({ status: {} });
    const columns = version?.additionalPrinterColumns ?? [];
    expect(columns.length).toBeGreaterThan(2);
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(['Ready', 'Age']));
    for (const c of columns) expect(c.jsonPath).toMatch(/^\./);
  });

  it.each(reconciled)('$file: a status not written yet defaults to observedGeneration 0 (kstatus: in progress, not current)', ({ crd }) => {
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema as Schema;
    const status = (root.properties as Record<string, Schema>).status as Schema;
    expect(status.default).toEqual({});
    expect((status.properties as Record<string, Schema>).observedGeneration).toMatchObject({ type: 'integer', default: 0 });
  });

  it.each(crds)('$file: structural schema (no additionalProperties beside properties, typed nodes, no const)', ({ crd }) => {
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema as Schema;
    for (const [path, node] of allObjects(root)) {
      if ('properties' in node) {
        expect(node.additionalProperties, `${path} has additionalProperties beside properties`).toBeUndefined();
      }
      expect(node, `${path} uses const`).not.toHaveProperty('const');
    }
    for (const [path, node] of schemaNodes(root)) {
      if (path === '$.metadata') continue;
      expect(typeof node.type, `${path} has no type`).toBe('string');
    }
    const spec = (root.properties as Record<string, Schema>).spec as Schema;
    expect(spec.type).toBe('object');
    expect(spec.properties).toBeDefined();
  });

  it.each(classes)('$file: an admin-owned class is cluster-scoped, without status (nothing reconciles it: kstatus reads it as current)', ({ crd }) => {
    expect(crd.spec.scope).toBe('Cluster');
    const version = crd.spec.versions[0];
    expect(version?.subresources).toBeUndefined();
    const root = version?.schema.openAPIV3Schema as Schema;
    expect(root.properties).not.toHaveProperty('status');
    expect((version?.additionalPrinterColumns ?? []).map((c) => c.name)).not.toContain('Ready');
  });

  it('every other kind is namespaced', () => {
    expect(reconciled.map(({ crd }) => crd.spec.scope)).toEqual(reconciled.map(() => 'Namespaced'));
    expect(classes.map(({ file }) => file).sort()).toEqual(['hypervisors.yaml', 'machineclasses.yaml', 'rentalclasses.yaml']);
  });

  it('keeps defaults, enums and map list keys through toStructural', () => {
    const node = crds.find((c) => c.crd.spec.names.kind === 'Node')?.crd;
    const spec = (node?.spec.versions[0]?.schema.openAPIV3Schema.properties as Record<string, Schema>).spec as Schema;
    expect((spec.properties as Record<string, Schema>).port).toMatchObject({ type: 'integer', default: 22 });
    expect(toStructural({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false })).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
    });
    expect(toStructural({ type: 'object', additionalProperties: { type: 'string' } })).toEqual({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });
});
