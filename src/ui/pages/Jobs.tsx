// Jobs, for admins: run an allowed recipe on chosen Nodes (a PlaybookRun), see each one's phase, and follow its
// log live to its result.
import { useState } from 'preact/hooks';
import { useChoices, type Choices } from '../portal/choices.js';
import { api } from '../portal/http.js';
import { useObject, useObjects } from '../portal/objects.js';
import type { JobSpec, JobStatus, Resource } from '../portal/types.js';
import { Field } from '../components/Field.js';
import { Link } from '../components/Link.js';
import { LogView } from '../components/LogView.js';
import { Conditions, Phase } from '../components/Status.js';
import { Empty, NotFound, PageHead } from '../components/Table.js';
import { navigate } from '../lib/router.js';
import { ago } from '../lib/time.js';

type Job = Resource<JobSpec, JobStatus>;

export function JobList() {
  const { items, synced } = useObjects<Job>('playbookruns');
  const newest = [...items].sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : -1));
  return (
    <>
      <PageHead title="Jobs" action={{ href: '/jobs/new', text: 'Run a job' }} />
      {items.length === 0 ? <Empty synced={synced}>No jobs. A job runs one allowed recipe on the nodes you choose.</Empty> : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Jobs, newest first</caption>
            <thead><tr><th scope="col">Job</th><th scope="col">Recipe</th><th scope="col">Nodes</th><th scope="col">Phase</th><th scope="col">Started</th></tr></thead>
            <tbody>
              {newest.map((j) => (
                <tr key={j.metadata.uid}>
                  <th scope="row"><Link href={`/jobs/${j.metadata.namespace}/${j.metadata.name}`}>{j.metadata.name}</Link></th>
                  <td>{j.spec.playbook}</td>
                  <td>{j.spec.nodes.join(', ')}</td>
                  <td><Phase phase={j.status?.phase} /></td>
                  <td>{ago(j.status?.startedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function JobDetail({ namespace, name }: { namespace: string; name: string }) {
  const { obj: job, synced } = useObject<Job>('playbookruns', namespace, name);
  if (!job) return synced ? <NotFound what={`Job ${name}`} back="/jobs" /> : <p>Loading…</p>;
  return (
    <>
      <h1>Job {name} <Phase phase={job.status?.phase} /></h1>
      <p>Recipe <strong>{job.spec.playbook}</strong> on {job.spec.nodes.join(', ')}.</p>
      <Conditions conditions={job.status?.conditions} />
      <LogView url={`/api/v1/namespaces/${namespace}/playbookruns/${name}/log?follow=true`} label={`Log of job ${name}`} />
    </>
  );
}

export function JobForm() {
  const { choices, error } = useChoices();
  if (error) return <p class="error">{error}</p>;
  if (!choices) return <p>Loading…</p>;
  if (!choices.job.offered) return <p>Jobs are for admins.</p>;
  return <JobFormFor choices={choices} />;
}

function JobFormFor({ choices }: { choices: Choices }) {
  const { items: nodes } = useObjects<Resource>('nodes');
  const [recipe, setRecipe] = useState(choices.job.recipes[0] ?? '');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [problem, setProblem] = useState('');
  const toggle = (name: string): void => {
    const next = new Set(chosen);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    setChosen(next);
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setProblem('');
    try {
      const job = await api<Resource>('POST', `/api/v1/namespaces/${choices.namespace}/playbookruns`, { metadata: { generateName: recipe }, spec: { playbook: recipe, nodes: [...chosen] } });
      navigate(`/jobs/${job.metadata.namespace}/${job.metadata.name}`);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <form class="card" onSubmit={submit}>
      <h1>Run a job</h1>
      <Field id="job-recipe" label="Recipe" hint="Only the recipes the admin allows (orion run --recipe)">
        {(a11y) => (
          <select {...a11y} value={recipe} onChange={(e) => setRecipe(e.currentTarget.value)}>
            {choices.job.recipes.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        )}
      </Field>
      <fieldset class="nodes">
        <legend>Nodes ({chosen.size} chosen)</legend>
        {nodes.map((n) => (
          <label key={n.metadata.uid} class="check">
            <input type="checkbox" checked={chosen.has(n.metadata.name)} onChange={() => toggle(n.metadata.name)} /> {n.metadata.name}
          </label>
        ))}
      </fieldset>
      {problem && <p class="error" role="alert">{problem}</p>}
      <button type="submit" class="primary" disabled={chosen.size === 0 || !recipe}>Run</button>
    </form>
  );
}
