// "New lab": a MachineClass of the admin's (GET /api/v1/choices), a machine from its images within its limits, one of
// its playbooks, and each refusal of the portal beside the field it names.
import { useState } from 'preact/hooks';
import { useChoices, type Choices, type MachineClassChoice } from '../portal/choices.js';
import { api, ApiError, type FieldError } from '../portal/http.js';
import type { Resource } from '../portal/types.js';
import { errorFor, Field } from '../components/Field.js';
import { navigate } from '../lib/router.js';

interface Draft { className: string; name: string; image: string; count: number; cpu: number; memoryMiB: number; diskGiB: number; playbook: string }

export function LabForm() {
  const { choices, error } = useChoices();
  if (error) return <p class="error">{error}</p>;
  if (!choices) return <p>Loading…</p>;
  if (!choices.lab.offered) return <p>Labs are not offered to you here.</p>;
  return <LabFormFor choices={choices} />;
}

function LabFormFor({ choices }: { choices: Choices }) {
  const first = choices.lab.classes[0];
  const initial = withinClass(choices.lab.sizes, first);
  const [draft, setDraft] = useState<Draft>({ className: first?.name ?? '', name: 'vm', image: first?.images[0] ?? '', count: initial.count.default, cpu: initial.cpu.default, memoryMiB: initial.memoryMiB.default, diskGiB: initial.diskGiB.default, playbook: '' });
  const chosen: MachineClassChoice | undefined = choices.lab.classes.find((c) => c.name === draft.className) ?? first;
  const sizes = withinClass(choices.lab.sizes, chosen);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState('');
  const set = (field: keyof Draft, value: string | number): void => setDraft({ ...draft, [field]: value });
  const choose = (className: string): void => {
    const next = choices.lab.classes.find((c) => c.name === className);
    setDraft({ ...draft, className, image: next?.images[0] ?? '', playbook: '' });
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setErrors([]);
    setProblem('');
    const machine = { name: draft.name, count: draft.count, cpu: draft.cpu, memoryMiB: draft.memoryMiB, diskGiB: draft.diskGiB, ...(draft.image ? { image: draft.image } : {}) };
    try {
      const created = await api<Resource>('POST', `/api/v1/namespaces/${choices.namespace}/labs`, {
        metadata: { generateName: 'lab' },
        spec: { className: draft.className, machines: [machine], ...(draft.playbook ? { ansible: { playbook: draft.playbook } } : {}) },
      });
      navigate(`/labs/${created.metadata.namespace}/${created.metadata.name}`);
    } catch (err) {
      const fields = err instanceof ApiError ? err.fields : [];
      setErrors(fields);
      if (fields.length === 0) setProblem((err as Error).message);
    }
  };
  const number = (field: 'count' | 'cpu' | 'memoryMiB' | 'diskGiB', label: string) => (
    <Field id={`lab-${field}`} label={label} hint={`${sizes[field].min} to ${sizes[field].max}`} error={errorFor(errors, `spec.machines[0].${field}`, `spec.machines.0.${field}`)}>
      {(a11y) => <input {...a11y} type="number" min={sizes[field].min} max={sizes[field].max} value={draft[field]} onInput={(e) => set(field, Number(e.currentTarget.value))} />}
    </Field>
  );
  return (
    <form class="card" onSubmit={submit}>
      <h1>New lab</h1>
      <Field id="lab-class" label="Class" hint="The admin's machine classes: where machines are made, their images and limits" error={errorFor(errors, 'spec.className')}>
        {(a11y) => (
          <select {...a11y} value={draft.className} onChange={(e) => choose(e.currentTarget.value)}>
            {choices.lab.classes.map((c) => <option key={c.name} value={c.name}>{c.name}{c.default ? ' (default)' : ''}</option>)}
          </select>
        )}
      </Field>
      <Field id="lab-name" label="Machine name" hint="Lower-case letters, digits and dashes" error={errorFor(errors, 'spec.machines[0].name', 'spec.machines.0.name')}>
        {(a11y) => <input {...a11y} value={draft.name} required onInput={(e) => set('name', e.currentTarget.value)} />}
      </Field>
      <Field id="lab-image" label="Image" error={errorFor(errors, 'spec.machines[0].image', 'spec.machines.0.image')}>
        {(a11y) => (
          <select {...a11y} value={draft.image} onChange={(e) => set('image', e.currentTarget.value)}>
            {(chosen?.images.length ?? 0) === 0 && <option value="">(none offered)</option>}
            {chosen?.images.map((i) => <option key={i} value={i}>{i}</option>)}
          </select>
        )}
      </Field>
      {number('count', 'How many')}
      {number('cpu', 'vCPUs')}
      {number('memoryMiB', 'Memory (MiB)')}
      {number('diskGiB', 'Disk (GiB)')}
      <Field id="lab-playbook" label="Configure with" error={errorFor(errors, 'spec.ansible')}>
        {(a11y) => (
          <select {...a11y} value={draft.playbook} onChange={(e) => set('playbook', e.currentTarget.value)}>
            <option value="">Nothing</option>
            {chosen?.playbooks.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        )}
      </Field>
      {problem && <p class="error" role="alert">{problem}</p>}
      <button type="submit" class="primary">Create lab</button>
    </form>
  );
}

type Sizes = Choices['lab']['sizes'];

/** The portal's size ranges, narrowed by the class's limits (a machine count counts against its machines). */
function withinClass(sizes: Sizes, chosen: MachineClassChoice | undefined): Sizes {
  const cap = (range: Sizes['cpu'], max: number | undefined): Sizes['cpu'] =>
    max === undefined ? range : { ...range, max: Math.min(range.max, max), default: Math.min(range.default, max) };
  const limits = chosen?.limits ?? {};
  return { count: cap(sizes.count, limits.machines), cpu: cap(sizes.cpu, limits.cpu), memoryMiB: cap(sizes.memoryMiB, limits.memoryMiB), diskGiB: cap(sizes.diskGiB, limits.diskGiB) };
}
