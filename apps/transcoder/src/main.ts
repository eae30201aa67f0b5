/** Entry point of the transcoder service: config, listen, clean shutdown (ffmpeg stopped, playlists ended). */
import { resolveAdminToken } from '@onair/service/admin-token';
import { createLogger } from '@onair/service/logger';
import { runService } from '@onair/service/run-service';
import { createTranscoder } from './app';
import { loadTranscoderConfig } from './config';
import { ffmpegVersion, resolveFfmpeg } from './ffmpeg/ffmpeg-binary';

const log = createLogger('transcoder');

runService(
  'transcoder',
  log,
  async () => {
    const config = loadTranscoderConfig();
    // The same token as the ingest's: from the environment, else the data directory's file.
    config.adminToken = resolveAdminToken(config.dataDir, config.adminToken).token;
    const ffmpeg = await resolveFfmpeg(config.ffmpegPath);
    if (ffmpeg) {
      config.ffmpegPath = ffmpeg;
      log.info({ ffmpeg, version: await ffmpegVersion(ffmpeg) }, 'ffmpeg found');
    } else {
      // Not fatal: /healthz reports it and jobs fail with ffmpeg_missing until it is installed.
      log.error({ ffmpeg: config.ffmpegPath }, 'ffmpeg not found: install it (apt-get install ffmpeg) or set ONAIR_FFMPEG_PATH');
    }
    const transcoder = createTranscoder(config, log);
    await transcoder.listen();
    return transcoder;
  },
  // ffmpeg gets SIGTERM and 3 s to flush before SIGKILL; leave room for that.
  { stopDeadlineMs: 8_000 },
);
