'use client';
import { useState, type FormEvent } from 'react';
import styles from './dashboard.module.css';

export function LoginForm({ expired }: { expired: boolean }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(expired ? 'Your session has ended: sign in again.' : null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/dashboard/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }) });
      if (res.ok) {
        window.location.assign('/dashboard');
        return;
      }
      const body = (await res.json().catch(() => ({}))) as { detail?: string };
      setError(body.detail ?? `Sign-in failed (HTTP ${res.status}).`);
    } catch {
      setError('The web server did not answer: is it running?');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className={styles.login} onSubmit={submit} data-testid="login-form">
      <h1>onair operator</h1>
      <p className={styles.muted}>
        Sign in with the admin token: <code>npm start</code> prints it, and it is in <code>.data/admin-token</code>.
      </p>
      <input className={styles.input} type="password" autoComplete="current-password" placeholder="admin token" value={secret} onChange={(e) => setSecret(e.target.value)} aria-label="Admin token" autoFocus required />
      <button className={styles.button} type="submit" disabled={busy || !secret}>
        Sign in
      </button>
      {error ? (
        <p className={styles.formError} role="alert" data-testid="login-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}
