// The shipped playbooks and roles stay ansible-lint clean (production profile, see ansible/.ansible-lint).
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('ansible/', () => {
  it('passes ansible-lint', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const result = await execa('ansible-lint', ['-c', 'ansible/.ansible-lint', 'ansible/'], { cwd: root, reject: false, timeout: 600_000, env: { ANSIBLE_NOCOLOR: '1' } });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  }, 600_000);
});
