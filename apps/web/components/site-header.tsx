import Link from 'next/link';

export function SiteHeader() {
  return (
    <header className="site-header">
      <Link href="/" className="site-header__logo" aria-label="onair home">
        <span className="site-header__dot" aria-hidden="true" />
        onair
      </Link>
      <nav className="site-header__nav" aria-label="Main">
        <Link href="/" className="site-header__link">
          Live
        </Link>
        <Link href="/dashboard" className="site-header__link">
          Dashboard
        </Link>
        <Link href="/broadcast" className="site-header__link site-header__link--cta">
          Go live
        </Link>
      </nav>
    </header>
  );
}
