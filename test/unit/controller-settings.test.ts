// The one registration (src/cli/controllers.ts) hands each controller the settings both run modes take.
import { describe, expect, it } from 'vitest';
import { registerControllers } from '../../src/cli/controllers.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { TerraformRunner } from '../../src/exec/terraform/runner.js';
import type { ControllerSetup, Manager } from '../../src/runtime/manager.js';
import type { Store } from '../../src/store/store.js';

function labSetup(settings: Parameters<typeof registerControllers>[2]): ControllerSetup {
  const added: ControllerSetup[] = [];
  const manager = { add: (setup: ControllerSetup) => added.push(setup) } as unknown as Manager;
  const deps = {
    store: {} as Store,
    ansible: new AnsibleRunner({ playbookDirs: [], runsDir: '/nonexistent' }),
    terraform: (): Promise<TerraformRunner> => Promise.reject(new Error('not used')),
  };
  registerControllers(manager, deps, settings, { only: ['lab'] });
  expect(added.map((s) => s.name)).toEqual(['lab']);
  return added[0] as ControllerSetup;
}

describe('controller settings', () => {
  it('runs as many Labs at once as --lab-concurrency says, and 4 when it is left out', () => {
    expect(labSetup({ labConcurrency: 7 }).concurrency).toBe(7);
    expect(labSetup({}).concurrency).toBe(4);
  });
});
