/**
 * The shaped-link scenario's media, on a running stack (test/e2e/adaptive-renditions.test.ts,
 * bench/renditions.ts, scripts/record-feedback-traces.ts): the transcoder set to the scenario's
 * two rungs, a stream, a werift WHIP publisher of the 640×360 source at a constant 1.2 Mbit/s, and
 * both rungs arriving in the ingest as RTP.
 */
import { startWeriftH264Publisher, type WeriftH264Publisher } from './peers/werift-h264-publisher';
import { renditionsFlowing } from './renditions';
import { SHAPED_SCENARIO_FPS, SHAPED_SCENARIO_LAVFI, shapedScenarioProfile } from './shaped-link';
import type { Stack } from './stack';

/** The source's constant bitrate: noise keeps x264 at it, and the renditions at theirs. */
export const SHAPED_SCENARIO_SOURCE_KBPS = 1200;

export interface ShapedScenario {
  stream: { id: string; name: string; streamKey: string };
  publisher: WeriftH264Publisher;
}

/** `profileName` names the transcoder profile (one per caller, so runs are told apart in logs). */
export async function startShapedScenario(st: Stack, profileName: string, streamName = 'abr'): Promise<ShapedScenario> {
  const profile = shapedScenarioProfile(profileName, `two rungs under a 640x360 source (${profileName})`);
  const transcoder = (path: string, init: RequestInit) => fetch(`${st.transcoderUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${st.adminToken}`, 'Content-Type': 'application/json' } });
  const created = await transcoder('/api/profiles', { method: 'POST', body: JSON.stringify(profile) });
  if (created.status !== 201) throw new Error(`the transcoder refused the profile: HTTP ${created.status} ${await created.text()}`);
  const set = await transcoder(`/api/jobs/${streamName}/profile`, { method: 'PUT', body: JSON.stringify({ profile: profile.name }) });
  if (set.status !== 200) throw new Error(`the transcoder refused the job's profile: HTTP ${set.status} ${await set.text()}`);
  const stream = await st.createStream(streamName);
  // werift's ICE (JavaScript) timed out on a loaded machine: one more publisher if the first never connects.
  let publisher: WeriftH264Publisher;
  for (let attempt = 1; ; attempt++) {
    publisher = await startWeriftH264Publisher({ whipUrl: `${st.ingestUrl}/whip`, streamKey: stream.streamKey, lavfi: SHAPED_SCENARIO_LAVFI, fps: SHAPED_SCENARIO_FPS, videoKbps: SHAPED_SCENARIO_SOURCE_KBPS });
    const connected = await Promise.race([publisher.connected.then(() => true, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
    if (connected) break;
    if (attempt === 2) throw new Error('the WHIP publisher did not connect twice');
    await publisher.stop({ delete: true });
  }
  await renditionsFlowing(st, stream.id, ['360p', '180p']);
  return { stream, publisher };
}
