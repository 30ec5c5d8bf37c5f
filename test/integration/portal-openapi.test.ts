// The portal against its own contract: schemathesis (PyPI, installed into a venv under the tools dir by
// test/harness/schemathesis/install.sh) generates requests from /api/v1/openapi.json — valid and invalid bodies,
// parameters, methods — and sends them, as an admin and as a tenant, to a running Orion with a real sshd node.
// No answer may be a 5xx, and every answer must match the document: its status code, content type, headers and
// schema. The streams (watch, log follow) stay open by design and are left to the other tests.
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource } from '../../src/api/types.js';
import { waitFor } from '../harness/cluster.js';
import { PortalBed } from '../harness/portal-bed.js';
import { TOOLS_DIR } from '../harness/tofu.js';

const REPO = join(import.meta.dirname, '..', '..');
const ST = join(TOOLS_DIR, 'venv-schemathesis', 'bin', 'st');
const CHECKS = 'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance';

describe('the OpenAPI document holds (schemathesis against a running Orion)', () => {
  let bed: PortalBed;

  beforeAll(async () => {
    await execa('bash', [join(REPO, 'test/harness/schemathesis/install.sh')], { env: { ORION_TOOLS_DIR: TOOLS_DIR }, timeout: 900_000 });
    bed = await PortalBed.create({ workers: 1, basePort: 24500, orion: { portal: { ratePerMinute: 1_000_000, rentWaitSeconds: 5 } } });
    await waitFor('the node Alive', () => bed.list<NodeResource>('Node').some((n) => n.status?.health === 'Alive'), 60_000);
  }, 900_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  for (const role of ['admin', 'tenant'] as const) {
    it(`answers every generated request as documented, and never with a 5xx (as ${role === 'admin' ? 'an admin' : 'a tenant'})`, async () => {
      const token = await bed.token(role === 'admin' ? 'ops' : 'dana', role === 'admin');
      const result = await execa(ST, [
        'run', `${bed.url}/api/v1/openapi.json`,
        '--header', `Authorization: Bearer ${token}`,
        '--checks', CHECKS,
        '--exclude-path-regex', '/watch$|/log$',
        '--max-examples', '15',
        '--workers', '1',
        '--seed', '20261203',
        '--generation-database', 'none',
        '--no-color',
        '--output-sanitize', 'true',
      ], { cwd: bed.root, reject: false, timeout: 600_000, env: { PATH: process.env.PATH ?? '' } });
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.exitCode, output.slice(-6000)).toBe(0);
      expect(output).toMatch(/\d+ generated, \d+ passed/);
      expect(output).not.toMatch(/\d+ failed/);
    }, 700_000);
  }
});
