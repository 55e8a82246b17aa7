import type { Logger } from '../util/index.js';
import type { RtspClientOptions } from '../rtsp/index.js';
import { RtpSender, SharedRtspSources, WebRtcPeer } from './media/index.js';
import type { MediaPlane } from './media-plane.js';

export interface DefaultMediaPlaneOptions {
  logger: Logger;
  /** Gather host candidates on this IPv4 address only. */
  interfaceAddress?: string;
  /** Options for every camera's RTSP client. */
  rtsp?: RtspClientOptions;
}

/** The engine's own media plane: shared RTSP pulls and werift peers (src/engine/media). */
export function createDefaultMediaPlane(opts: DefaultMediaPlaneOptions): MediaPlane {
  const sources = new SharedRtspSources({
    logger: opts.logger.child('sources'),
    ...(opts.rtsp ? { rtsp: opts.rtsp } : {}),
  });
  return {
    sources,
    createPeer: (peerOpts) =>
      new WebRtcPeer({
        ...peerOpts,
        iceServers: peerOpts.iceServers.map((s) => ({ ...s })),
        ...(opts.interfaceAddress ? { interfaceAddress: opts.interfaceAddress } : {}),
      }),
    createRtpSender: (rtpOpts) =>
      new RtpSender({
        ...rtpOpts,
        ...(opts.interfaceAddress ? { interfaceAddress: opts.interfaceAddress } : {}),
      }),
  };
}
