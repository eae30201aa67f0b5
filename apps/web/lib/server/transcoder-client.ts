/** The transcoder's job and profile API, called server-side with the admin token. */
import 'server-only';
import type { JobView, ProfileDoc } from '../../components/dashboard/types';
import { dashboardRuntime } from './runtime-config';
import { toJobViews } from './transcoder-view';
import { upstreamFetch, upstreamJson, type UpstreamTarget } from './upstream';

function transcoder(): UpstreamTarget {
  const runtime = dashboardRuntime();
  return { service: 'transcoder', baseUrl: runtime.transcoderUrl, adminToken: runtime.adminToken };
}

const seg = encodeURIComponent;

export type JobAction = 'start' | 'stop' | 'restart';
export const JOB_ACTIONS: readonly JobAction[] = ['start', 'stop', 'restart'];

export const transcoderClient = {
  target: transcoder,
  async listJobs(): Promise<JobView[]> {
    return toJobViews(await upstreamJson<unknown>(transcoder(), '/api/jobs'));
  },
  /** The last lines of ffmpeg's log for a stream's job, oldest first. */
  async logs(stream: string): Promise<string[]> {
    const res = await upstreamFetch(transcoder(), `/api/jobs/${seg(stream)}/logs`);
    const text = await res.text();
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      const body: unknown = JSON.parse(text);
      const lines = Array.isArray(body) ? body : (body as { lines?: unknown }).lines;
      return Array.isArray(lines) ? lines.map((l) => (typeof l === 'string' ? l : typeof l === 'object' && l && 'line' in l ? String((l as { line: unknown }).line) : JSON.stringify(l))) : [];
    }
    return text.split('\n').filter(Boolean);
  },
  jobAction: (stream: string, action: JobAction): Promise<unknown> => upstreamJson(transcoder(), `/api/jobs/${seg(stream)}/${action}`, { method: 'POST' }),
  setProfile: (stream: string, profile: string): Promise<unknown> => upstreamJson(transcoder(), `/api/jobs/${seg(stream)}/profile`, { method: 'PUT', body: { profile } }),
  /** `GET /api/profiles` answers `{profiles: [...]}`. */
  async listProfiles(): Promise<ProfileDoc[]> {
    const body = await upstreamJson<unknown>(transcoder(), '/api/profiles');
    const list = Array.isArray(body) ? body : (body as { profiles?: unknown } | undefined)?.profiles;
    return Array.isArray(list) ? (list as ProfileDoc[]) : [];
  },
  getProfile: (name: string): Promise<ProfileDoc> => upstreamJson(transcoder(), `/api/profiles/${seg(name)}`),
  createProfile: (profile: unknown): Promise<ProfileDoc> => upstreamJson(transcoder(), '/api/profiles', { method: 'POST', body: profile }),
  replaceProfile: (name: string, profile: unknown): Promise<ProfileDoc> => upstreamJson(transcoder(), `/api/profiles/${seg(name)}`, { method: 'PUT', body: profile }),
  deleteProfile: (name: string): Promise<void> => upstreamJson(transcoder(), `/api/profiles/${seg(name)}`, { method: 'DELETE' }),
  /** The HLS multivariant playlist as served (for the ladder preview). */
  async masterPlaylist(stream: string): Promise<string> {
    return (await upstreamFetch(transcoder(), `/hls/${seg(stream)}/index.m3u8`)).text();
  },
};
