import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { LoginForm } from '../../../components/dashboard/login-form';
import styles from '../../../components/dashboard/dashboard.module.css';
import { hasSession } from '../../../lib/server/session';

export const metadata: Metadata = { title: 'Sign in · dashboard', robots: { index: false } };
export const dynamic = 'force-dynamic';

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  if (await hasSession()) redirect('/dashboard');
  const { expired } = await searchParams;
  return (
    <main className={styles.root}>
      <LoginForm expired={expired === '1'} />
    </main>
  );
}
