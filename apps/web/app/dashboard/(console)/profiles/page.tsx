import type { Metadata } from 'next';
import { ProfilesEditor } from '../../../../components/dashboard/profiles-editor';
import { requireSession } from '../../../../lib/server/session';

export const metadata: Metadata = { title: 'Profiles · dashboard' };
export const dynamic = 'force-dynamic';

export default async function Page() {
  await requireSession('page');
  return <ProfilesEditor />;
}
