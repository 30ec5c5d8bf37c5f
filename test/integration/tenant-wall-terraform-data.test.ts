// Values a tenant writes reach real OpenTofu as data (docs/adr/0022-data-stays-data.md): the Lab renderer's root
// module, split by withVariables as the pipeline does, applied with the libvirt-vm module's own variables.tf and a
// stand-in body (local files and outputs instead of VMs). A userData, kernel, cmdline or libvirt URI holding
// Terraform templates round-trips literally through the apply, and nothing on the host is read.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIBVIRT_MODULE, renderLabModule } from '../../controllers/machine/module.js';
import { withVariables } from '../../controllers/machine/variables.js';
import type { MachineSpec } from '../../controllers/machine/spec.js';
import { RootModule, TerraformRunner } from '../../src/exec/terraform/runner.js';
import { ensureTofu, REPO_ROOT, type TofuTools } from '../harness/tofu.js';

const BUILD_TIMEOUT_MS = 60 * 60_000;

/** The module's body for the test: each instance's user data in a file, every input back as an output. */
const STANDIN_MAIN = `
resource "local_file" "user_data" {
  count           = var.instances
  filename        = "\${path.root}/user-data-\${count.index}.txt"
  content         = var.user_data
  file_permission = "0600"
}
`;
const STANDIN_OUTPUTS = `
output "machines" {
  value = [for i in range(var.instances) : { name = "\${var.machine}-\${i}", id = local_file.user_data[i].id, mac = "", address = "" }]
}
output "echo" {
  value = { user_data = var.user_data, kernel = var.kernel, initrd = var.initrd, cmdline = var.cmdline, name_prefix = var.name_prefix }
}
`;

/** What the tenant writes: templates of every kind, shell, newlines, Unicode. */
const USER_DATA = [
  '#cloud-config',
  'runcmd:',
  '  - echo "${tonumber(file("/etc/hostname"))}"',
  '  - echo "%{ if true }x%{ endif }" $${HOME} ${HOME} `id` $(id)',
  '  - echo "{{ lookup(\'pipe\', \'id\') }}" é ✓ 😀',
].join('\n');
const KERNEL = '/boot/${file("/etc/hostname")}';
const INITRD = '/boot/%{ for x in ["a"] }${x}%{ endfor }';
const CMDLINE = 'console=ttyS0 root=${path.module} quiet';
const URI = 'qemu:///system?x=${file("/etc/hostname")}';

let tools: TofuTools;
let root: string;

beforeAll(async () => {
  tools = await ensureTofu();
  root = await mkdtemp(join(tmpdir(), 'orion-tf-data-'));
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('tenant strings through real OpenTofu', () => {
  it('apply keeps userData, kernel, initrd, cmdline and the URI literal; nothing on the host is read', async () => {
    const runner = await TerraformRunner.create({ stateRoot: root, binary: tools.tofu, env: { TF_CLI_CONFIG_FILE: tools.cliConfig } });
    const ws = await runner.workspace({ kind: 'lab', namespace: 'default', name: 'literal' });
    const spec = {
      provider: { type: 'libvirt', libvirt: { uri: URI } },
      machines: [{ name: 'vm', count: 1, userData: USER_DATA, kernel: KERNEL, initrd: INITRD, cmdline: CMDLINE }],
    } as MachineSpec;
    const rendered = withVariables(renderLabModule({ namespace: 'default', name: 'literal', spec, images: { vm: { path: '/images/base.qcow2' } } }));

    // The stand-in replaces the VMs and the libvirt provider (the URI is echoed instead of dialled).
    const main = rendered.main as Record<string, Record<string, unknown>>;
    const moduleDir = join(ws.dir, 'modules', LIBVIRT_MODULE);
    await mkdir(moduleDir, { recursive: true });
    await writeFile(join(moduleDir, 'variables.tf'), await readFile(join(REPO_ROOT, 'terraform', LIBVIRT_MODULE, 'variables.tf')));
    await writeFile(join(moduleDir, 'main.tf'), STANDIN_MAIN);
    await writeFile(join(moduleDir, 'outputs.tf'), STANDIN_OUTPUTS);
    const standIn = new RootModule(
      {
        ...main,
        terraform: { required_providers: { local: { source: 'hashicorp/local', version: tools.providerVersions.local } } },
        provider: undefined,
        output: { ...main.output, echo: { value: '${module.machine-vm.echo}' }, uri: { value: '${var.provider-libvirt.uri}' } },
      },
      rendered.variables,
    );
    const mainText = standIn.files()['main.tf.json'] as string;
    for (const value of [USER_DATA, KERNEL, INITRD, URI, 'hostname', 'ttyS0']) expect(mainText).not.toContain(JSON.stringify(value).slice(1, -1));

    const result = await runner.converge(ws, standIn);
    expect(result.result, result.failure?.error).toBe('success');
    const outputs = result.outputs ?? {};
    expect(outputs.echo?.value).toEqual({
      user_data: USER_DATA,
      kernel: KERNEL,
      initrd: INITRD,
      cmdline: [{ console: 'ttyS0', root: '${path.module}' }, { _: 'quiet' }],
      name_prefix: 'default.literal',
    });
    expect(outputs.uri?.value).toBe(URI);
    expect(await readFile(join(ws.dir, 'user-data-0.txt'), 'utf8')).toBe(USER_DATA);
    // Nothing of the host's /etc/hostname reached the state or the outputs.
    const hostname = (await readFile('/etc/hostname', 'utf8')).trim();
    const state = await readFile(join(ws.dir, 'terraform.tfstate'), 'utf8');
    expect(state).toContain(JSON.stringify(USER_DATA).slice(1, -1));
    if (hostname.length >= 4) expect(JSON.stringify(outputs)).not.toContain(hostname);

    // The hash covers the variables: another userData is a change to apply, and the apply takes it literally.
    const changed = new RootModule(standIn.main, { ...standIn.variables, 'machine-vm': { ...(standIn.variables['machine-vm'] as object), user_data: '%{ if false }hidden%{ endif }' } });
    expect(changed.hash()).not.toBe(standIn.hash());
    const again = await runner.converge(ws, changed);
    expect(again.result, again.failure?.error).toBe('success');
    expect(again.applied).toBe(true);
    expect(await readFile(join(ws.dir, 'user-data-0.txt'), 'utf8')).toBe('%{ if false }hidden%{ endif }');
  }, 300_000);
});
