import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { DashboardNav } from '../../../components/dashboard/dashboard-nav';
import styles from '../../../components/dashboard/dashboard.module.css';
import { LiveDataProvider } from '../../../components/dashboard/live-data';
import { requireSession } from '../../../lib/server/session';

export const metadata: Metadata = { title: 'Dashboard', robots: { index: false } };
export const dynamic = 'force-dynamic';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  await requireSession('page');
  return (
    <div className={styles.root}>
      <LiveDataProvider>
        <DashboardNav />
        <main className={styles.main}>{children}</main>
      </LiveDataProvider>
    </div>
  );
}
