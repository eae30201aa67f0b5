/** Entry point of the transcoder service: config, listen, clean shutdown (ffmpeg stopped, playlists ended). */
import { ConfigError } from '@onair/service/config';
import { createLogger } from '@onair/service/logger';
import { createTranscoder } from './app';
import { loadTranscoderConfig } from './config';
import { ffmpegVersion, resolveFfmpeg } from './ffmpeg/ffmpeg-binary';

const log = createLogger('transcoder');

async function main(): Promise<void> {
  const config = loadTranscoderConfig();
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: ending jobs');
    // ffmpeg gets SIGTERM and 3 s to flush before SIGKILL; leave room for that.
    const forceExit = setTimeout(() => process.exit(1), 8_000);
    forceExit.unref();
    await transcoder.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    log.fatal({ err: error }, 'transcoder failed to start');
  }
  process.exit(1);
});
