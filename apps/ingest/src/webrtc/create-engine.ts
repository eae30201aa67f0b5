/**
 * The ingest's media engine: publishers on werift (one per stream: RTP in, REMB out), viewers
 * on the engine the config names. By default (`auto`) werift with the native send path
 * (native-send.ts: SRTP and sendmmsg in C, ~1 × the machine's sendto floor per forwarded
 * packet against libdatachannel's ~2 ×) when its addon builds here, else libdatachannel
 * (datachannel-engine.ts); werift whenever several ICE hosts are configured (only werift binds
 * and advertises more than one).
 */
import type { Logger } from '@onair/service/logger';
import type { IngestConfig } from '../config';
import { DatachannelViewerEngine } from './datachannel-engine';
import type { MediaEngine, PeerOptions, PublisherPeer, SdpPeer, ViewerPeer } from './engine';
import { nativeSendUnavailable, nativeSrtpSend, type NativeSrtpSend } from './native-send';
import { WeriftEngine } from './werift-engine';

export type ViewerEngineName = 'datachannel' | 'werift';

/** The engine WHEP viewers get; `nativeSend`: whether werift viewers would have the native send path. */
export function viewerEngineFor(config: Pick<IngestConfig, 'viewerEngine' | 'ice'>, nativeSend: boolean): ViewerEngineName {
  if (config.ice.hosts.length !== 1 || config.viewerEngine === 'werift') return 'werift';
  if (config.viewerEngine === 'datachannel') return 'datachannel';
  return nativeSend ? 'werift' : 'datachannel';
}

class IngestEngine implements MediaEngine {
  private readonly werift: WeriftEngine;
  private readonly datachannel: DatachannelViewerEngine | undefined;

  constructor(
    readonly viewerEngine: ViewerEngineName,
    readonly nativeSend: NativeSrtpSend | undefined,
    log: Logger,
  ) {
    this.werift = new WeriftEngine({ log, nativeSend });
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

export function createMediaEngine(config: Pick<IngestConfig, 'viewerEngine' | 'ice' | 'nativeSend'>, log: Logger): MediaEngine & { close(): void; viewerEngine: ViewerEngineName; nativeSend: NativeSrtpSend | undefined } {
  const wantsNative = config.nativeSend && config.viewerEngine !== 'datachannel';
  const addon = wantsNative ? nativeSrtpSend() : undefined;
  if (wantsNative && !addon) log.warn({ reason: nativeSendUnavailable }, 'native send path unavailable: WHEP viewers cost about twice the CPU per packet');
  const chosen = viewerEngineFor(config, addon !== undefined);
  if (config.viewerEngine === 'datachannel' && chosen === 'werift') log.info({ hosts: config.ice.hosts }, 'WHEP viewers use werift: libdatachannel binds a single ICE host');
  return new IngestEngine(chosen, chosen === 'werift' ? addon : undefined, log);
}
