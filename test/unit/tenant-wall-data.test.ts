// Data stays data (docs/adr/0022-data-stays-data.md): every string field of a Lab or a Desktop that reaches Terraform or
// Ansible — the tenant's, and what the Lab's MachineClass and Hypervisor (the admin's) add to it — against every
// adversarial input. Each pair is either refused by the schema with an
// error naming the field, or accepted and then found literally where the field goes — terraform.tfvars.json (and
// never in main.tf.json), or the Ansible vars file tagged !unsafe — never as a template.
import { describe, expect, it } from 'vitest';
import { parseDocument, visit } from 'yaml';
import { desktopView } from '../../controllers/desktop/machine.js';
import { labView, type LabClasses } from '../../controllers/lab/view.js';
import { renderMachineModule } from '../../controllers/machine/render.js';
import type { DesktopResource, HypervisorResource, LabResource, MachineClassResource } from '../../src/api/types.js';
import type { MachineSpec } from '../../controllers/machine/spec.js';
import { validateManifest } from '../../src/api/validate.js';
import { unsafeVarsYaml } from '../../src/exec/ansible/unsafe-yaml.js';

const PAYLOADS: Array<[string, string]> = [
  ['Terraform interpolation', '${tonumber(file("/etc/hostname"))}'],
  ['Terraform directive', '%{ if true }x%{ endif }'],
  ['Terraform escape', '$${HOME}'],
  ['shell variable', 'echo ${HOME} $HOME'],
  ['Jinja expression', "{{ lookup('pipe', 'id') }}"],
  ['Jinja statement', '{% for x in [1] %}{{ x }}{% endfor %}'],
  ['Jinja comment', '{# hidden #}'],
  ['shell metacharacters', 'a; id | tee x && `id` $(id) > /tmp/y'],
  ['quotes and backslashes', `"' \\" \\\\ \\n`],
  ['newlines', 'line1\nline2\r\nline3'],
  ['an SSH option', '-o ProxyCommand=touch /tmp/pwned'],
  ['a path traversal', '../../etc/shadow'],
  ['Unicode', 'é ✓ 😀 \u2028 \u0085 \ufeff \u202e'],
  ['a control character', 'a\u0000b\u001bc'],
  ['a very long value', `${'${x}'.repeat(20000)}`],
];

type Target = 'terraform' | 'ansible';
type Kind = 'Lab' | 'Desktop' | 'MachineClass' | 'Hypervisor';
interface Field {
  kind: Kind;
  field: string;
  target: Target;
  set: (value: string) => Record<string, unknown>;
  /** The pieces of the value found where it goes, when the renderer reshapes it (a kernel command line). */
  pieces?: (value: string) => string[];
  /** What the Lab is resolved with, besides the object under test: its class's and hypervisor's specs. */
  classSpec?: Record<string, unknown>;
  hypervisorSpec?: Record<string, unknown>;
  /** A class field that reaches a Desktop's machine or playbook (resolved through a Desktop rather than a Lab). */
  desktop?: boolean;
}

/** A kernel command line's words, as canonicalCmdline keeps them: key and value of key=value, the others whole. */
const cmdlinePieces = (value: string): string[] =>
  value.split(/\s+/).filter(Boolean).flatMap((w) => (w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w])).filter(Boolean);

// A Lab names a class and an image name; the class (the admin's) holds what the image is, the Hypervisor where.
const LIBVIRT = { type: 'libvirt' };
const proxmox = (over: Record<string, unknown> = {}) => ({ type: 'proxmox', proxmox: { endpoint: 'https://pve:8006', node: 'pve', tokenSecretRef: { name: 't' }, ...over } });
const labOf = (over: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({ machines: [{ name: 'vm', image: 'img', ...over }], ...spec });
const classOf = (image: Record<string, unknown>) => ({ hypervisor: 'hv', images: [{ name: 'img', ...image }], playbooks: ['lab-base'] });
const VOLUME_CLASS = classOf({ volume: 'base.qcow2' });
const TEMPLATE_CLASS = classOf({ template: 'debian' });
// A Desktop names a class and an image name; its AD join and home share are the class's (spec.desktop).
const desktop = (over: Record<string, unknown>) => ({ user: 'tom', image: 'img', adJoin: true, pamMount: true, ...over });
const desktopClassOf = (terms: Record<string, unknown>) => ({
  ...VOLUME_CLASS,
  desktop: { adJoin: { domain: 'ad.lan', credentialsSecretRef: { name: 'ad' } }, pamMount: { server: 'files.lan', share: 's' }, ...terms },
});

const FIELDS: Field[] = [
  { kind: 'Lab', field: 'spec.machines[0].userData', target: 'terraform', set: (v) => labOf({ userData: v }) },
  { kind: 'Lab', field: 'spec.machines[0].image', target: 'terraform', set: (v) => labOf({ image: v }) },
  { kind: 'Lab', field: 'spec.machines[0].name', target: 'terraform', set: (v) => labOf({ name: v }) },
  { kind: 'Lab', field: 'spec.ansible.user', target: 'ansible', set: (v) => labOf({}, { ansible: { playbook: 'lab-base', user: v } }) },
  { kind: 'Lab', field: 'spec.ansible.vars', target: 'ansible', set: (v) => labOf({}, { ansible: { playbook: 'lab-base', vars: { motd: v, nested: [{ [v]: v }] } } }) },
  { kind: 'MachineClass', field: 'spec.images[0].volume', target: 'terraform', set: (v) => classOf({ volume: v }) },
  { kind: 'MachineClass', field: 'spec.images[0].path', target: 'terraform', set: (v) => classOf({ path: v }) },
  { kind: 'MachineClass', field: 'spec.images[0].kernel', target: 'terraform', set: (v) => classOf({ volume: 'base.qcow2', kernel: v }) },
  { kind: 'MachineClass', field: 'spec.images[0].initrd', target: 'terraform', set: (v) => classOf({ volume: 'base.qcow2', kernel: '/k', initrd: v }) },
  { kind: 'MachineClass', field: 'spec.images[0].cmdline', target: 'terraform', set: (v) => classOf({ volume: 'base.qcow2', kernel: '/k', cmdline: v }), pieces: cmdlinePieces },
  { kind: 'MachineClass', field: 'spec.images[0].template', target: 'terraform', set: (v) => classOf({ template: v }), hypervisorSpec: proxmox() },
  { kind: 'Hypervisor', field: 'spec.libvirt.uri', target: 'terraform', set: (v) => ({ type: 'libvirt', libvirt: { uri: v } }) },
  { kind: 'Hypervisor', field: 'spec.libvirt.pool', target: 'terraform', set: (v) => ({ type: 'libvirt', libvirt: { pool: v } }) },
  { kind: 'Hypervisor', field: 'spec.libvirt.network', target: 'terraform', set: (v) => ({ type: 'libvirt', libvirt: { network: v } }) },
  { kind: 'Hypervisor', field: 'spec.proxmox.node', target: 'terraform', set: (v) => proxmox({ node: v }), classSpec: TEMPLATE_CLASS },
  { kind: 'Hypervisor', field: 'spec.proxmox.storage', target: 'terraform', set: (v) => proxmox({ storage: v }), classSpec: TEMPLATE_CLASS },
  { kind: 'Hypervisor', field: 'spec.proxmox.endpoint', target: 'terraform', set: (v) => proxmox({ endpoint: v }), classSpec: TEMPLATE_CLASS },
  { kind: 'Hypervisor', field: 'spec.proxmox.bridge', target: 'terraform', set: (v) => proxmox({ bridge: v }), classSpec: TEMPLATE_CLASS },
  { kind: 'Desktop', field: 'spec.user', target: 'ansible', set: (v) => desktop({ user: v }) },
  { kind: 'MachineClass', desktop: true, field: 'spec.images[0].volume', target: 'terraform', set: (v) => ({ ...desktopClassOf({}), images: [{ name: 'img', volume: v }] }) },
  { kind: 'MachineClass', desktop: true, field: 'spec.desktop.adJoin.ouPath', target: 'ansible', set: (v) => desktopClassOf({ adJoin: { domain: 'ad.lan', ouPath: v, credentialsSecretRef: { name: 'ad' } } }) },
  { kind: 'MachineClass', desktop: true, field: 'spec.desktop.adJoin.domain', target: 'ansible', set: (v) => desktopClassOf({ adJoin: { domain: v, credentialsSecretRef: { name: 'ad' } } }) },
  { kind: 'MachineClass', desktop: true, field: 'spec.desktop.pamMount.server', target: 'ansible', set: (v) => desktopClassOf({ pamMount: { server: v, share: 's' } }) },
  { kind: 'MachineClass', desktop: true, field: 'spec.desktop.pamMount.mountpoint', target: 'ansible', set: (v) => desktopClassOf({ pamMount: { server: 'files.lan', share: 's', mountpoint: v } }) },
  { kind: 'MachineClass', desktop: true, field: 'spec.desktop.pamMount.share', target: 'ansible', set: (v) => desktopClassOf({ pamMount: { server: 'files.lan', share: v } }) },
];

const escaped = (value: string): string => JSON.stringify(value).slice(1, -1);

/** The manifest of the kind, validated (defaults applied), as the object Orion makes of it. */
function validated<T>(kind: Kind, name: string, spec: Record<string, unknown>): T | { errors: Array<{ field: string; message: string }> } {
  const cluster = kind === 'MachineClass' || kind === 'Hypervisor';
  const result = validateManifest({ apiVersion: 'orion.lab/v1alpha1', kind, metadata: { name, ...(cluster ? {} : { namespace: 'default' }) }, spec });
  if (!result.ok) return { errors: result.errors };
  return { ...result.value, metadata: { ...result.value.metadata, uid: 'u', generation: 1 } } as unknown as T;
}

function fixture<T>(kind: Kind, name: string, spec: Record<string, unknown>): T {
  const obj = validated<T>(kind, name, spec);
  if ((obj as { errors?: unknown }).errors) throw new Error(`fixture ${kind} ${name}: ${JSON.stringify(obj)}`);
  return obj as T;
}

/** The Lab, its class and hypervisor: the object under test in its place, fixtures for the rest. */
function labWorld(f: Field, obj: unknown): LabClasses & { lab: LabResource } {
  const lab = f.kind === 'Lab' ? (obj as LabResource) : fixture<LabResource>('Lab', 'x', labOf());
  const klass = f.kind === 'MachineClass' ? (obj as MachineClassResource) : fixture<MachineClassResource>('MachineClass', 'c', f.classSpec ?? VOLUME_CLASS);
  const hv = f.kind === 'Hypervisor' ? (obj as HypervisorResource) : fixture<HypervisorResource>('Hypervisor', 'hv', f.hypervisorSpec ?? LIBVIRT);
  const named = { ...klass, metadata: { ...klass.metadata, name: 'c', annotations: { 'orion.lab/default-class': 'true' } } };
  return { lab, machineClasses: () => [named], hypervisors: () => [{ ...hv, metadata: { ...hv.metadata, name: 'hv' } }], secretNamespace: 'default' };
}

/** The Desktop, its class and hypervisor: the object under test in its place, fixtures for the rest. */
function desktopWorld(f: Field, obj: unknown): LabClasses & { desktop: DesktopResource } {
  const desk = f.kind === 'Desktop' ? (obj as DesktopResource) : fixture<DesktopResource>('Desktop', 'x', desktop({}));
  const world = labWorld({ ...f, classSpec: f.classSpec ?? desktopClassOf({}) }, f.kind === 'Desktop' ? fixture<LabResource>('Lab', 'x', labOf()) : obj);
  return { ...world, desktop: desk };
}

/** The root module's files as the pipeline renders them for the object. */
function terraformFiles(f: Field, obj: unknown): Record<string, string> {
  let spec: MachineSpec;
  if (f.kind === 'Desktop' || f.desktop) {
    const world = desktopWorld(f, obj);
    spec = desktopView('root', world).machineSpec(world.desktop, 'ssh-ed25519 AAAA k');
  } else {
    const world = labWorld(f, obj);
    spec = labView(world).machineSpec(world.lab);
  }
  const images = Object.fromEntries(spec.machines.map((m) => [m.name, m.image?.startsWith('/') ? { path: m.image } : { volume: m.image ?? 'base.qcow2' }]));
  return renderMachineModule({ namespace: 'default', name: 'x', spec, images, moduleHash: 'sha256:0' }).files;
}

/** The Ansible vars file the runner writes for the object's playbook. */
function ansibleVarsFile(f: Field, obj: unknown): string {
  if (f.kind === 'Desktop' || f.desktop) {
    const world = desktopWorld(f, obj);
    const view = desktopView('root', world);
    const run = view.playbook(world.desktop, view.machineSpec(world.desktop), { rdpPassword: 'pw', adCredentials: { username: 'svc', password: 'pw' } });
    return unsafeVarsYaml({ ...run?.vars, ...run?.identity });
  }
  const world = labWorld(f, obj);
  const view = labView(world);
  const run = view.playbook(world.lab, view.machineSpec(world.lab), {});
  return unsafeVarsYaml({ ...run?.vars, ...run?.identity, ansible_user_is_a_host_var: run?.user });
}

/** Every string of the YAML, keys included, and whether each is tagged !unsafe. */
function strings(text: string): Array<{ value: string; unsafe: boolean; key: boolean }> {
  const doc = parseDocument(text, { customTags: [{ tag: '!unsafe', resolve: (s: string) => s }] });
  expect(doc.errors).toEqual([]);
  const found: Array<{ value: string; unsafe: boolean; key: boolean }> = [];
  const names = new Set(Object.keys(doc.toJS() as object));
  visit(doc, {
    Scalar(key, node) {
      if (typeof node.value !== 'string') return;
      // The variables' own names (Orion's, checked identifiers) are the one plain text.
      const name = key === 'key' && node.tag === undefined && names.has(node.value);
      found.push({ value: node.value, unsafe: node.tag === '!unsafe', key: name });
    },
  });
  return found;
}

describe('every tenant string that reaches Terraform or Ansible is data', () => {
  const cases = FIELDS.flatMap((f) => PAYLOADS.map(([what, payload]) => [`${f.kind} ${f.field} ← ${what}`, f, payload] as const));

  it('the table covers every field with every payload', () => {
    expect(cases.length).toBe(FIELDS.length * PAYLOADS.length);
  });

  it.each(cases)('%s', (_name, f, payload) => {
    const obj = validated<unknown>(f.kind, 'x', f.set(payload));
    const refused = (obj as { errors?: Array<{ field: string; message: string }> }).errors;
    if (refused) {
      // Refused: the error names the field (or its parent, for a map's keys), with a message.
      const fieldRoot = f.field.replace(/\[\d+\]/g, '');
      expect(refused.some((e) => e.field.replace(/\[\d+\]/g, '').replace(/\.\d+(?=\.|$)/g, '').startsWith(fieldRoot) && e.message.length > 0), JSON.stringify(refused)).toBe(true);
      return;
    }
    if (f.target === 'terraform') {
      const files = terraformFiles(f, obj);
      for (const piece of f.pieces?.(payload) ?? [payload]) expect(files['terraform.tfvars.json']).toContain(escaped(piece));
      expect(files['main.tf.json']).not.toContain(escaped(payload));
      // main.tf.json holds no value of the spec: its templates are references to variables and Orion's own outputs.
      const templates = (files['main.tf.json'] as string).match(/\$\{[^}]*\}|%\{[^}]*\}/g) ?? [];
      for (const t of templates) expect(t).toMatch(/^\$\{(var\.[a-z0-9-]+\.[a-z_]+|concat\(module\.[a-z0-9-]+\.machines(, module\.[a-z0-9-]+\.machines)*\))\}$/);
    } else {
      const text = ansibleVarsFile(f, obj);
      expect(text).toMatch(/^[\x20-\x7e\n]*$/); // plain ASCII: nothing raw reaches Ansible's YAML reader
      const found = strings(text);
      expect(found.filter((s) => !s.key && !s.unsafe)).toEqual([]);
      expect(found.some((s) => s.value === payload && s.unsafe)).toBe(true);
    }
  });
});
