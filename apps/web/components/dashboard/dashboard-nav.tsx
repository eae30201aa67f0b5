'use client';
/** Dashboard navigation, connection indicator and sign-out. */
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import styles from './dashboard.module.css';
import { signOut } from './api';
import { useLiveData } from './live-data';

const LINKS = [
  { href: '/dashboard', label: 'Streams' },
  { href: '/dashboard/transcoder', label: 'Transcoder' },
  { href: '/dashboard/profiles', label: 'Profiles' },
];

export function DashboardNav() {
  const path = usePathname();
  const { connected, snapshot } = useLiveData();
  const live = snapshot?.ingest.ok ? snapshot.ingest.data.filter((s) => s.state.live).length : null;
  return (
    <nav className={styles.nav}>
      <span className={styles.brand}>onair · operator</span>
      {LINKS.map((link) => (
        <Link key={link.href} href={link.href} className={path === link.href ? styles.navActive : styles.navLink}>
          {link.label}
        </Link>
      ))}
      <span className={styles.spacer} />
      {live !== null ? <span className={styles.muted}>{live} live</span> : null}
      <span className={connected ? styles.dotOn : styles.dotOff} title={connected ? 'live updates on' : 'reconnecting…'} data-testid="connection" data-connected={connected ? 'true' : 'false'} />
      <button
        className={styles.buttonSmall}
        data-testid="sign-out"
        onClick={() => void signOut()}
      >
        Sign out
      </button>
    </nav>
  );
}
