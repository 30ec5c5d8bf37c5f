// PlaybookRun: run one allowed playbook (a recipe) on named Nodes, once; the run's life is in its status. The job
// of seed 002 (POST /ansible/run), and what every "job" of the portal is made of.
import { DNS_LABEL } from '../../base/names.js';
import { PLAYBOOK_NAME, conditionsSchema, dateTime, runSummarySchema } from './common.js';

/** Pending → Running → Succeeded | Failed; the seed's PENDING / RUNNING / SUCCESS / ERROR. */
export const PLAYBOOK_RUN_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;

export const playbookRunSpecSchema = {
  type: 'object',
  required: ['playbook', 'nodes'],
  additionalProperties: false,
  properties: {
    playbook: { type: 'string', pattern: PLAYBOOK_NAME, description: 'A recipe the admin allows (orion run --recipe), by name: never a path.' },
    nodes: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
      description: 'Names of Nodes in the same namespace.',
    },
    timeoutSeconds: { type: 'integer', minimum: 10, maximum: 86400, default: 1800 },
    ttlSecondsAfterFinished: {
      type: 'integer',
      minimum: 0,
      maximum: 2592000,
      default: 86400,
      description: 'The PlaybookRun is deleted this long after it finished (its run log stays until pruned).',
    },
  },
} as const;

export const playbookRunHostSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['node'],
  properties: {
    node: { type: 'string' },
    ok: { type: 'integer', minimum: 0 },
    changed: { type: 'integer', minimum: 0 },
    failed: { type: 'integer', minimum: 0 },
    unreachable: { type: 'integer', minimum: 0 },
    skipped: { type: 'integer', minimum: 0 },
    failedTask: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

export const playbookRunStatusSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    observedGeneration: { type: 'integer', minimum: 0 },
    phase: { type: 'string', enum: PLAYBOOK_RUN_PHASES },
    startedAt: dateTime,
    endedAt: dateTime,
    hosts: { type: 'array', maxItems: 100, items: playbookRunHostSchema },
    lastRun: runSummarySchema,
    conditions: conditionsSchema,
  },
} as const;

export const playbookRunKind = {
  kind: 'PlaybookRun',
  plural: 'playbookruns',
  singular: 'playbookrun',
  shortNames: ['pbrun'],
  specSchema: playbookRunSpecSchema,
  statusSchema: playbookRunStatusSchema,
  printerColumns: [
    { name: 'Playbook', type: 'string', jsonPath: '.spec.playbook' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Started', type: 'date', jsonPath: '.status.startedAt' },
    { name: 'Ended', type: 'date', jsonPath: '.status.endedAt' },
  ],
} as const;
