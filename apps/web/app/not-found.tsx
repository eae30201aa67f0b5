import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="page">
      <div className="empty-state">
        <h1 className="empty-state__title">Not found</h1>
        <p>There is nothing at this address.</p>
        <Link href="/" className="btn btn--primary">
          See who is live
        </Link>
      </div>
    </main>
  );
}
