/**
 * The ingest's media engine: publishers on werift (one per stream: RTP in, REMB out), viewers
 * on the engine the config names — libdatachannel by default for the fan-out's cost per packet
 * (datachannel-engine.ts), werift when asked or when several ICE hosts are configured (only
 * werift binds and advertises more than one).
 */
import type { Logger } from '@onair/service/logger';
import type { IngestConfig } from '../config';
import { DatachannelViewerEngine } from './datachannel-engine';
import type { MediaEngine, PeerOptions, PublisherPeer, SdpPeer, ViewerPeer } from './engine';
import { WeriftEngine } from './werift-engine';

export type ViewerEngineName = IngestConfig['viewerEngine'];

export function viewerEngineFor(config: Pick<IngestConfig, 'viewerEngine' | 'ice'>): ViewerEngineName {
  return config.viewerEngine === 'datachannel' && config.ice.hosts.length === 1 ? 'datachannel' : 'werift';
}

class IngestEngine implements MediaEngine {
  private readonly werift: WeriftEngine;
  private readonly datachannel: DatachannelViewerEngine | undefined;

  constructor(readonly viewerEngine: ViewerEngineName, log: Logger) {
    this.werift = new WeriftEngine({ log });
    this.datachannel = viewerEngine === 'datachannel' ? new DatachannelViewerEngine() : undefined;
  }

  createPublisher(options: PeerOptions): Promise<PublisherPeer & SdpPeer> {
    return this.werift.createPublisher(options);
  }

  createViewer(options: PeerOptions): Promise<ViewerPeer & SdpPeer> {
    return (this.datachannel ?? this.werift).createViewer(options);
  }

  close(): void {
    this.datachannel?.close();
  }
}

export function createMediaEngine(config: Pick<IngestConfig, 'viewerEngine' | 'ice'>, log: Logger): MediaEngine & { close(): void; viewerEngine: ViewerEngineName } {
  const chosen = viewerEngineFor(config);
  if (chosen !== config.viewerEngine) log.info({ hosts: config.ice.hosts }, 'WHEP viewers use werift: libdatachannel binds a single ICE host');
  return new IngestEngine(chosen, log);
}
