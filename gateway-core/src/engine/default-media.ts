import type { Logger } from '../util/index.js';
import { CamgateError } from '../util/index.js';
import type { RtspClientOptions } from '../rtsp/index.js';
import type { CameraProfile } from './camera-profiles.js';
import type { MediaPlane } from './media-plane.js';

export interface DefaultMediaPlaneOptions {
  logger: Logger;
  /** Gather host candidates on this IPv4 address only. */
  interfaceAddress?: string;
  /** Options for every camera's RTSP client. */
  rtsp?: RtspClientOptions;
}

type MediaModule = Pick<typeof import('./media/index.js'), 'SharedRtspSources' | 'WebRtcPeer' | 'RtpSender'>;

/**
 * The engine's own media plane: shared RTSP pulls and werift peers (src/engine/media). Its code (the RTSP
 * client, GOP cache, stream conditioner, senders: about 60 modules, 2–5 MB of RSS) is loaded by the first
 * `create` (`ready`), not at start: an engine nobody uses yet stays small (issue 17, media/README.md).
 */
export function createDefaultMediaPlane(opts: DefaultMediaPlaneOptions): MediaPlane {
  let media: { mod: MediaModule; sources: InstanceType<MediaModule['SharedRtspSources']> } | undefined;
  let loading: Promise<void> | undefined;
  let profiles: ReadonlyMap<string, CameraProfile> | undefined;
  let closed = false;
  const loaded = (): NonNullable<typeof media> => {
    if (!media) throw new CamgateError('CAMGATE_ENGINE_STATE', 'the media plane is not loaded yet (await ready())');
    return media;
  };
  const load = async (): Promise<void> => {
    const { SharedRtspSources, WebRtcPeer, RtpSender } = await import('./media/index.js');
    const mod = { SharedRtspSources, WebRtcPeer, RtpSender };
    const sources = new SharedRtspSources({
      logger: opts.logger.child('sources'),
      ...(opts.rtsp ? { rtsp: opts.rtsp } : {}),
    });
    if (profiles) sources.setProfiles(profiles);
    if (closed) await sources.close(); // closed while loading: acquire answers CAMGATE_ENGINE_CLOSED
    media = { mod, sources };
  };
  const host = opts.interfaceAddress ? { interfaceAddress: opts.interfaceAddress } : {};
  return {
    ready: () => (loading ??= load()),
    sources: {
      acquire: (uri) => loaded().sources.acquire(uri),
      setProfiles: (p) => {
        profiles = new Map(p);
        media?.sources.setProfiles(p);
      },
      latestKeyframe: (uri) => media?.sources.latestKeyframe(uri),
      close: async () => {
        closed = true;
        await loading?.catch(() => undefined);
        await media?.sources.close();
      },
    },
    createPeer: (peerOpts) =>
      new (loaded().mod.WebRtcPeer)({
        ...peerOpts,
        iceServers: peerOpts.iceServers.map((s) => ({ ...s })),
        ...host,
      }),
    createRtpSender: (rtpOpts) => new (loaded().mod.RtpSender)({ ...rtpOpts, ...host }),
  };
}
