// The OpenAPI 3.1 document of /api/v1, generated from the same JSON Schemas as the CRDs (src/api/schemas via
// KINDS): the spec and status of every kind are the schemas themselves, so the API, the CRDs and folder-mode
// validation cannot drift apart. Served at /api/v1/openapi.json.
import { GROUP, VERSION } from '../../api/group.js';
import { KINDS, type KindDefinition } from '../../api/kinds.js';
import { DNS_LABEL } from '../../base/names.js';
import { API_PREFIX } from './context.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json): Json => ({ 'application/json': { schema } });
const problem = (description: string): Json => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const nameParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string', pattern: DNS_LABEL, maxLength: 63 } });

const COMMON_ERRORS: Json = {
  '401': problem('No valid bearer token'),
  '403': problem('Not allowed (RBAC, admin only, a quota)'),
  '429': problem('Rate limit; see Retry-After'),
  '503': problem('The caller\'s identity cannot be checked right now'),
};

export function openApiDocument(): Json {
  const paths: Json = {};
  const schemas: Json = { ...baseSchemas() };
  for (const def of KINDS) {
    Object.assign(schemas, kindSchemas(def));
    Object.assign(paths, kindPaths(def));
  }
  Object.assign(paths, actionPaths(), runPaths());
  return {
    openapi: '3.1.0',
    info: {
      title: 'Orion portal API',
      version: VERSION,
      description: `Rentals, Desktops, Labs, PlaybookRuns and Nodes of ${GROUP}/${VERSION}. Writes create or delete objects; Orion's controllers do the work. Errors are RFC 9457 problem details.`,
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
  };
}

function baseSchemas(): Json {
  return {
    Problem: {
      type: 'object',
      required: ['type', 'title', 'status', 'detail'],
      properties: {
        type: { type: 'string' },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string' },
        errors: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
    ObjectMeta: {
      type: 'object',
      required: ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp'],
      properties: {
        name: { type: 'string' },
        namespace: { type: 'string' },
        uid: { type: 'string' },
        generation: { type: 'integer' },
        resourceVersion: { type: 'string' },
        creationTimestamp: { type: 'string', format: 'date-time' },
        deletionTimestamp: { type: 'string', format: 'date-time' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
        finalizers: { type: 'array', items: { type: 'string' } },
      },
      additionalProperties: false,
    },
    NewObjectMeta: {
      type: 'object',
      description: 'The name (or a generateName prefix), labels and annotations; the namespace comes from the URL, the owner from the caller.',
      properties: {
        name: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
        generateName: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*)?$', maxLength: 50 },
        labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63 } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
      additionalProperties: false,
    },
    Run: {
      type: 'object',
      required: ['id', 'resource', 'what', 'state', 'startedAt', 'log'],
      properties: {
        id: { type: 'string' },
        resource: { type: 'object', properties: { kind: { type: 'string' }, namespace: { type: 'string' }, name: { type: 'string' } } },
        what: { type: 'string', description: 'The playbook or Terraform operation.' },
        state: { type: 'string', enum: ['PENDING', 'RUNNING', 'SUCCESS', 'ERROR'] },
        startedAt: { type: 'string', format: 'date-time' },
        endedAt: { type: 'string', format: 'date-time' },
        result: { type: 'string' },
        message: { type: 'string' },
        log: { type: 'string' },
      },
    },
    RunList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Run') } } },
  };
}

function kindSchemas(def: KindDefinition): Json {
  return {
    [def.kind]: {
      type: 'object',
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      properties: {
        apiVersion: { const: `${GROUP}/${VERSION}` },
        kind: { const: def.kind },
        metadata: ref('ObjectMeta'),
        spec: def.specSchema,
        ...(def.statusSchema ? { status: def.statusSchema } : {}),
      },
    },
    [`${def.kind}List`]: {
      type: 'object',
      required: ['items'],
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, items: { type: 'array', items: ref(def.kind) } },
    },
    ...(def.scope === 'Cluster' ? {} : { [`New${def.kind}`]: {
      type: 'object',
      required: ['spec'],
      properties: {
        apiVersion: { const: `${GROUP}/${VERSION}` },
        kind: { const: def.kind },
        metadata: ref('NewObjectMeta'),
        spec: { ...def.specSchema, description: `The ${def.kind} spec; in folder mode a tenant's is held to the portal's policy (their login, the admin's presets).` },
      },
      additionalProperties: false,
    } }),
  };
}

/** A cluster-scoped class: listed by those allowed to (admins), never written through the portal. */
function clusterKindPaths(def: KindDefinition): Json {
  return {
    [`${API_PREFIX}/${def.plural}`]: {
      get: {
        operationId: `list${def.kind}`,
        tags: [def.plural],
        description: `The admin's ${def.plural} (cluster-scoped); written with kubectl or in the folder, never through the portal.`,
        responses: { '200': { description: 'Every object of the kind', content: json(ref(`${def.kind}List`)) }, ...COMMON_ERRORS },
      },
    },
  };
}

function kindPaths(def: KindDefinition): Json {
  if (def.scope === 'Cluster') return clusterKindPaths(def);
  const readOnly = def.kind === 'Node';
  const ns = nameParam('namespace', 'The namespace');
  const name = nameParam('name', `The ${def.kind}'s name`);
  const written = (code: string, description: string): Json => ({
    [code]: { description, headers: { Location: { schema: { type: 'string' } } }, content: json(ref(def.kind)) },
  });
  const collection: Json = {
    get: { operationId: `list${def.kind}InNamespace`, tags: [def.plural], parameters: [ns], responses: { '200': { description: 'The visible objects', content: json(ref(`${def.kind}List`)) }, ...COMMON_ERRORS } },
  };
  if (!readOnly) {
    collection.post = {
      operationId: `create${def.kind}`,
      tags: [def.plural],
      parameters: [ns],
      requestBody: { required: true, content: json(ref(`New${def.kind}`)) },
      responses: { ...written('201', 'Created; the controllers take it from here'), '400': problem('A field the caller may not set'), '404': problem('Unknown resource'), '409': problem('The name is taken'), '415': problem('Not JSON'), '422': problem('The spec does not match the schema'), ...COMMON_ERRORS },
    };
  }
  const item: Json = {
    get: { operationId: `get${def.kind}`, tags: [def.plural], parameters: [ns, name], responses: { '200': { description: `The ${def.kind}`, content: json(ref(def.kind)) }, '404': problem('Not found (or not yours)'), ...COMMON_ERRORS } },
  };
  if (!readOnly) {
    item.delete = {
      operationId: `delete${def.kind}`,
      tags: [def.plural],
      parameters: [ns, name],
      responses: { ...written('202', 'Deletion requested; finalizers run'), '404': problem('Not found (or not yours)'), '409': problem('Declared in a manifest file'), ...COMMON_ERRORS },
    };
  }
  const base = `${API_PREFIX}/namespaces/{namespace}/${def.plural}`;
  return {
    [`${API_PREFIX}/${def.plural}`]: {
      get: {
        operationId: `list${def.kind}`,
        tags: [def.plural],
        parameters: [{ name: 'namespace', in: 'query', required: false, schema: { type: 'string', pattern: DNS_LABEL } }],
        responses: { '200': { description: 'The visible objects of every namespace', content: json(ref(`${def.kind}List`)) }, ...COMMON_ERRORS },
      },
    },
    [base]: collection,
    [`${base}/{name}`]: item,
    [`${base}/{name}/runs`]: {
      get: { operationId: `list${def.kind}Runs`, tags: [def.plural], parameters: [ns, name], responses: { '200': { description: 'Its Ansible and Terraform runs, oldest first', content: json(ref('RunList')) }, '404': problem('Not found (or not yours)'), ...COMMON_ERRORS } },
    },
    [`${base}/{name}/log`]: {
      get: {
        operationId: `get${def.kind}Log`,
        tags: [def.plural],
        description: 'The newest run\'s log; with ?follow=true (or Accept: text/event-stream) the running or next run as server-sent events, resumable with Last-Event-ID, ending with an `end` event that carries the result.',
        parameters: [ns, name, { name: 'follow', in: 'query', required: false, schema: { type: 'boolean' } }],
        responses: { '200': { description: 'The log', content: { 'text/plain': { schema: { type: 'string' } }, 'text/event-stream': { schema: { type: 'string' } } } }, '404': problem('No run yet, or not found'), ...COMMON_ERRORS },
      },
    },
  };
}

function actionPaths(): Json {
  const params = [nameParam('namespace', 'The namespace'), nameParam('name', 'The object\'s name')];
  const action = (id: string, tag: string, kind: string, body: Json | undefined, description: string): Json => ({
    post: {
      operationId: id,
      tags: [tag],
      description,
      parameters: params,
      ...(body ? { requestBody: { required: true, content: json(body) } } : {}),
      responses: { '202': { description: 'Changed; the controller acts on it', content: json(ref(kind)) }, '400': problem('A bad value'), '404': problem('Not found (or not yours)'), '409': problem('Changed meanwhile, or declared in a manifest file'), ...COMMON_ERRORS },
    },
  });
  const ns = `${API_PREFIX}/namespaces/{namespace}`;
  return {
    [`${ns}/desktops/{name}/extend`]: action('extendDesktop', 'desktops', 'Desktop', { type: 'object', required: ['seconds'], properties: { seconds: { type: 'integer', minimum: 60, maximum: 604800 } } }, 'Lets the desktop live longer (spec.ttlSeconds grows), within the admin\'s limit.'),
    [`${ns}/labs/{name}/power`]: action('powerLab', 'labs', 'Lab', { type: 'object', required: ['state'], properties: { state: { type: 'string', enum: ['Running', 'Stopped'] } } }, 'Powers every machine of the lab on or off (spec.powerState).'),
    [`${ns}/labs/{name}/restart`]: action('restartLab', 'labs', 'Lab', undefined, 'Restarts every machine (annotation orion.lab/restartedAt).'),
  };
}

function runPaths(): Json {
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  return {
    [`${API_PREFIX}/runs/{id}`]: {
      get: { operationId: 'getRun', tags: ['runs'], parameters: [id], responses: { '200': { description: 'The run', content: json(ref('Run')) }, '404': problem('No such run (or not yours)'), ...COMMON_ERRORS } },
    },
    [`${API_PREFIX}/runs/{id}/log`]: {
      get: {
        operationId: 'getRunLog',
        tags: ['runs'],
        parameters: [id, { name: 'follow', in: 'query', required: false, schema: { type: 'boolean' } }],
        responses: { '200': { description: 'The log, or followed as server-sent events', content: { 'text/plain': { schema: { type: 'string' } }, 'text/event-stream': { schema: { type: 'string' } } } }, '404': problem('No such run (or not yours)'), ...COMMON_ERRORS },
      },
    },
    [`${API_PREFIX}/watch`]: {
      get: {
        operationId: 'watch',
        tags: ['watch'],
        description: 'Server-sent events: every visible object (ADDED), SYNCED, then each change (ADDED, MODIFIED, DELETED).',
        parameters: [
          { name: 'kind', in: 'query', required: false, schema: { type: 'string' }, description: 'Comma-separated plurals' },
          { name: 'namespace', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'name', in: 'query', required: false, schema: { type: 'string' } },
        ],
        responses: { '200': { description: 'The stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': problem('Unknown kind'), ...COMMON_ERRORS },
      },
    },
  };
}
