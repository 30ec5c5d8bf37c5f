// `orion validate` through the real command line program (commander, file expansion, exit code).
import { existsSync, readdirSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { HTTPS_ENDPOINT } from '../../src/api/schemas/provider.js';

const fixture = (path: string): string =>
  relative(process.cwd(), fileURLToPath(new URL(`../fixtures/manifests/${path}`, import.meta.url)));
const EXAMPLES = relative(process.cwd(), fileURLToPath(new URL('../../examples/', import.meta.url)));

interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `orion <args>` in this process and captures what it prints and its exit code. */
async function orion(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(['node', 'orion', ...args]);
    return { exitCode: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.exitCode = previousExitCode;
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('orion validate: valid manifests', () => {
  it('passes on the valid fixture set (nested folders, .yml, multi-document files, Secrets) and ignores dot folders', async () => {
    const result = await orion('validate', fixture('valid'));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    // nodes.yaml (2 Nodes + a Secret), rental.yaml, more/lab.yml, more/desktop.yaml; .ignored/ and *.txt are skipped
    expect(result.stdout).toBe('4 file(s), 6 resource(s): valid\n');
  });

  it('passes on single files given one by one', async () => {
    const result = await orion('validate', fixture('valid/rental.yaml'), fixture('valid/more/lab.yml'));
    expect(result).toEqual({ exitCode: 0, stdout: '2 file(s), 3 resource(s): valid\n', stderr: '' });
  });

  it('passes on the examples/ a user copies', async () => {
    expect(existsSync(EXAMPLES)).toBe(true);
    const result = await orion('validate', EXAMPLES);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const [, files, resources] = /^(\d+) file\(s\), (\d+) resource\(s\): valid\n$/.exec(result.stdout) ?? [];
    expect(Number(files)).toBeGreaterThan(0);
    expect(Number(resources)).toBeGreaterThanOrEqual(4); // the quickstart's four Nodes at least
  });
});

const RETIRED_BY_CLASS = 'removed: the hypervisor, images, templates and boot files of a Lab are the admin\'s; name a MachineClass in spec.className (or leave it out for the default class) and one of its images in machines[].image';
const DESKTOP_RETIRED_BY_CLASS = 'removed: the hypervisor and images of a Desktop are the admin\'s; name a MachineClass in spec.className (or leave it out for the default class) and one of its images in spec.image';

describe('orion validate: broken manifests', () => {
  const f = (name: string): string => fixture(`invalid/${name}`);
  const expected = [
    `${f('broken-yaml.yaml')}:7: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    `${f('dup-b.yaml')}:1: metadata.name: duplicate Node/default/shared-name: already declared in ${f('dup-a.yaml')}`,
    `${f('duplicate-key.yaml')}:7: invalid YAML: Map keys must be unique`,
    `${f('header.yaml')}:1: apiVersion: must be "orion.lab/v1alpha1", got "v1"`,
    `${f('header.yaml')}:7: kind: unknown kind "Pod" (expected one of Node, Rental, Lab, Desktop, PlaybookRun, RentalClass, MachineClass, Hypervisor)`,
    `${f('lab-limits.yaml')}:8: spec.machines[0].name: must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`,
    `${f('lab-limits.yaml')}:9: spec.machines[0].cpu: must be <= 8`,
    `${f('lab-limits.yaml')}:10: spec.machines[0].memoryMiB: must be <= 16384`,
    `${f('lab-limits.yaml')}:12: spec.machines[1].diskGiB: must be <= 500`,
    `${f('lab-limits.yaml')}:13: spec.machines[1].count: must be <= 20`,
    `${f('lab-limits.yaml')}:14: spec.ansible.playbook: must match ^[A-Za-z0-9_-]{1,64}(\\.ya?ml)?$`,
    `${f('lab-retired.yaml')}:7: spec.provider: ${RETIRED_BY_CLASS}`,
    `${f('desktop-retired.yaml')}:7: spec.provider: ${DESKTOP_RETIRED_BY_CLASS}`,
    `${f('desktop-retired.yaml')}:8: spec.template: ${DESKTOP_RETIRED_BY_CLASS}`,
    `${f('desktop-retired.yaml')}:9: spec.pamMount: must be boolean`,
    `${f('lab-retired.yaml')}:10: spec.machines[0].image: must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`,
    `${f('lab-retired.yaml')}:11: spec.machines[0].kernel: ${RETIRED_BY_CLASS}`,
    `${f('hypervisor.yaml')}:9: spec.proxmox.endpoint: must match ${HTTPS_ENDPOINT}`,
    `${f('rental-users.yaml')}:7: spec.user: is a reserved value`,
    `${f('rental-users.yaml')}:15: spec.user: must match ^[a-z_][a-z0-9_-]{0,31}$`,
    `${f('rental-users.yaml')}:18: spec.playbooks: removed: the playbooks Orion runs for a Rental are chosen by the admin; name a RentalClass in spec.className (or leave it out for the default class)`,
    `${f('rentalclass.yaml')}:6: metadata.namespace: must be left out: the kind is cluster-scoped`,
    `${f('rentalclass.yaml')}:8: spec.playbooks.create: must match ^[A-Za-z0-9_-]{1,64}(\\.ya?ml)?$`,
    `${f('rentalclass.yaml')}:9: spec.allowSudo: must be boolean`,
    `${f('rental-users.yaml')}:25: spec.sshPublicKeys: required field is missing`,
    `${f('secret.yaml')}:6: data.privateKey: must match ^[A-Za-z0-9+/=\\s]*$`,
    `${f('unknown-field.yaml')}:9: spec.probe.intervalSecs: unknown field`,
  ];

  it('fails with exit code 1 and one file:line: field: message line per error', async () => {
    const result = await orion('validate', fixture('invalid'));
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    const files = readdirSync(fixture('invalid')).length;
    expect(lines.at(-1)).toBe(`${expected.length} error(s) in ${files} file(s)`);
    expect(lines.slice(0, -1).sort()).toEqual([...expected].sort());
  });

  it('fails when one broken file is given beside valid ones, naming only the broken one', async () => {
    const result = await orion('validate', fixture('valid'), f('unknown-field.yaml'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`${f('unknown-field.yaml')}:9: spec.probe.intervalSecs: unknown field\n1 error(s) in 5 file(s)\n`);
  });

  it('reports a path that does not exist as an error of the command', async () => {
    await expect(orion('validate', fixture('no-such-dir'))).rejects.toThrow(/no such file or directory/);
  });
});
