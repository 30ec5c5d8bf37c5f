// Validation of manifests against the kinds' JSON Schemas (ajv, with defaults), as the API server would.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { API_VERSION } from './group.js';
import { KINDS, type KindDefinition } from './kinds.js';
import { DNS_LABEL } from '../base/names.js';
import type { KindName } from './types.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped in the module object.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

export interface FieldError {
  /** Dotted field path, e.g. `spec.machines[0].cpu`; empty for the document itself. */
  field: string;
  /** Path segments, to locate the field in the YAML source. */
  path: (string | number)[];
  message: string;
}

/** A declared object as it comes from a manifest: no status, no server-side metadata. */
export interface Manifest {
  apiVersion: string;
  kind: KindName;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface SecretManifest {
  kind: 'Secret';
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const metadataSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
    namespace: { type: 'string', pattern: DNS_LABEL, maxLength: 63, default: 'default' },
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63 } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
addFormats(ajv);

/** A cluster-scoped object has no namespace: none may be given, and it reads as ''. */
const clusterMetadataSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: metadataSchema.properties.name,
    namespace: { const: '', default: '', description: 'cluster-scoped: no namespace' },
    labels: metadataSchema.properties.labels,
    annotations: metadataSchema.properties.annotations,
  },
} as const;

const validators = new Map<KindName, ValidateFunction>(
  KINDS.map((def) => [def.kind, ajv.compile(manifestSchema(def))]),
);

const secretValidator = ajv.compile({
  type: 'object',
  required: ['metadata'],
  properties: {
    metadata: metadataSchema,
    type: { type: 'string' },
    data: { type: 'object', additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9+/=\\s]*$' } },
    stringData: { type: 'object', additionalProperties: { type: 'string' } },
  },
});

function manifestSchema(def: KindDefinition): object {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: API_VERSION },
      kind: { const: def.kind },
      metadata: def.scope === 'Cluster' ? clusterMetadataSchema : metadataSchema,
      spec: def.specSchema,
      status: { type: 'object' },
    },
  };
}

/** Validates one parsed document; applies schema defaults to a copy. */
export function validateManifest(doc: unknown): ValidationResult<Manifest> {
  const header = checkHeader(doc);
  if (header) return { ok: false, errors: [header] };
  const copy = structuredClone(doc) as Manifest & { status?: unknown };
  const validate = validators.get(copy.kind);
  if (!validate) return fail('kind', ['kind'], `unknown kind "${copy.kind}" (expected one of ${kindNames()})`);
  const retired = retiredFieldErrors(copy);
  if (!validate(copy)) return { ok: false, errors: [...retired, ...toFieldErrors(validate.errors ?? []).filter((e) => !retired.some((r) => r.field === e.field))] };
  if (retired.length > 0) return { ok: false, errors: retired };
  delete copy.status; // status is written by the controller, never by a manifest
  return { ok: true, value: copy };
}

/** Validates a v1 Secret; `stringData` is merged over base64-decoded `data` as the API server does. */
export function validateSecret(doc: unknown): ValidationResult<SecretManifest> {
  const copy = structuredClone(doc) as {
    metadata: { name: string; namespace: string };
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  };
  if (!secretValidator(copy)) return { ok: false, errors: toFieldErrors(secretValidator.errors ?? []) };
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(copy.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
  Object.assign(data, copy.stringData ?? {});
  return { ok: true, value: { kind: 'Secret', metadata: copy.metadata, data } };
}

/** Spec fields a kind no longer has, each refused with what replaced it (the kind's `retiredFields`). */
function retiredFieldErrors(doc: Manifest): FieldError[] {
  const retired = KINDS.find((k) => k.kind === doc.kind)?.retiredFields ?? {};
  return Object.entries(retired).flatMap(([field, message]) =>
    presentPaths(doc.spec, field.split('.')).map((at) => {
      const path = ['spec', ...at];
      return { field: formatPath(path), path, message };
    }));
}

/** Where the field is present: `machines[].kernel` is each item of machines that has kernel. */
function presentPaths(value: unknown, segments: string[]): Array<Array<string | number>> {
  if (typeof value !== 'object' || value === null) return [];
  const [first, ...rest] = segments as [string, ...string[]];
  const many = first.endsWith('[]');
  const name = many ? first.slice(0, -2) : first;
  if (!Object.hasOwn(value, name)) return [];
  const inner = (value as Record<string, unknown>)[name];
  if (rest.length === 0) return [[name]];
  if (!many) return presentPaths(inner, rest).map((p) => [name, ...p]);
  if (!Array.isArray(inner)) return [];
  return inner.flatMap((item: unknown, i) => presentPaths(item, rest).map((p) => [name, i, ...p]));
}

function checkHeader(doc: unknown): FieldError | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { field: '', path: [], message: 'a manifest must be a YAML mapping' };
  }
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  if (apiVersion !== API_VERSION) {
    return { field: 'apiVersion', path: ['apiVersion'], message: `must be "${API_VERSION}", got ${JSON.stringify(apiVersion)}` };
  }
  if (typeof kind !== 'string' || !KINDS.some((k) => k.kind === kind)) {
    return { field: 'kind', path: ['kind'], message: `unknown kind ${JSON.stringify(kind)} (expected one of ${kindNames()})` };
  }
  return undefined;
}

function kindNames(): string {
  return KINDS.map((k) => k.kind).join(', ');
}

function fail<T>(field: string, path: (string | number)[], message: string): ValidationResult<T> {
  return { ok: false, errors: [{ field, path, message }] };
}

/** Turns ajv's errors into one readable error per field, most specific first. */
export function toFieldErrors(errors: ErrorObject[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    if (err.keyword === 'if') continue;
    const path = pointerToPath(err.instancePath);
    let message = describeError(err);
    if (err.keyword === 'additionalProperties') {
      path.push(String(err.params.additionalProperty));
      message = 'unknown field';
    }
    if (err.keyword === 'required') path.push(String(err.params.missingProperty));
    const field = formatPath(path);
    const key = `${field}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field, path, message });
  }
  return out;
}

function describeError(err: ErrorObject): string {
  switch (err.keyword) {
    case 'required':
      return 'required field is missing';
    case 'pattern':
      return `must match ${String(err.params.pattern)}`;
    case 'enum':
      return `must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not':
      return 'is a reserved value';
    case 'const':
      return err.params.allowedValue === '' ? 'must be left out: the kind is cluster-scoped' : `must be ${JSON.stringify(err.params.allowedValue)}`;
    default:
      return err.message ?? err.keyword;
  }
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg),
    '',
  );
}
