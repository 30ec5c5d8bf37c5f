// Logging in: paste a token (folder mode: from `orion token create`; Kubernetes mode: a token the cluster knows),
// or, where the admin set it up, sign in with the organisation's OpenID Connect provider.
import { useState } from 'preact/hooks';
import { login, type SessionInfo } from '../portal/session.js';
import { Field } from './Field.js';

export function Login({ info }: { info: SessionInfo }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await login(token);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>Orion</h1>
      <p>Rent a machine, ask for a desktop or a lab, and watch it come up.</p>
      <form onSubmit={submit} class="card">
        <h2>Log in</h2>
        <Field id="token" label={info.mode === 'kube' ? 'Kubernetes token' : 'Your Orion token'} hint="The token your admin gave you (it starts with orion_ in folder mode). It is kept in a session cookie that scripts cannot read." error={error}>
          {(a11y) => <input {...a11y} type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary" disabled={busy || !token}>Log in</button>
        {info.oidc && (
          <p>
            or <a class="button" href="/auth/oidc/start">Sign in with your organisation (OpenID Connect)</a>
          </p>
        )}
      </form>
    </main>
  );
}
