import { isIP } from 'node:net';
import type { Logger } from '../../util/index.js';

/** A STUN/TURN server as Kurento and the W3C `RTCIceServer` describe it. */
export interface IceServer {
  /** `stun:host:port` or `turn:host:port?transport=udp|tcp` (RFC 7064, RFC 7065). */
  urls: string;
  username?: string;
  /** TURN credential; a secret: never logged. */
  credential?: string;
}

export interface WebRtcPeerOptions {
  /**
   * STUN/TURN servers. Required and always passed to werift, whose own default
   * is a public Google STUN server: with an empty list no packet leaves the host.
   */
  iceServers: IceServer[];
  /** Host addresses werift skips by default (loopback, tunnels) that should still be ICE candidates. */
  additionalHostAddresses?: string[];
  /** Gather host candidates on this one IPv4 address only (e.g. '127.0.0.1' in tests, a LAN address in production). */
  interfaceAddress?: string;
  /** The camera's H.264 `profile-level-id` (6 hex digits), when known, to pick the matching offered payload. */
  profileLevelId?: string;
  /** RTP payload budget per packet in bytes (FU-A splits larger NAL units, RFC 6184 §5.8). */
  mtu?: number;
  /** Bound of this viewer's GOP cache in bytes (it references the camera's buffers; it does not copy them). */
  gopMaxBytes?: number;
  /** Least time between two GOP replays answering PLI/FIR, in ms. */
  keyframeReplayIntervalMs?: number;
  /**
   * Rate at which a burst (a keyframe, a GOP replay) is spread out, bits per
   * second; steady video below it is not delayed. See pacer.ts.
   */
  pacingBitrate?: number;
  /** Bytes sent back to back before pacing applies. */
  pacingBurstBytes?: number;
  /** Time without a sent packet after which `mediaFlowOut` turns NOT_FLOWING, in ms. */
  flowTimeoutMs?: number;
  logger?: Logger;
}

/**
 * 100 Mbit/s: a 1.4 MB keyframe (720p from the camera simulator) leaves in
 * about 110 ms instead of one burst; a real camera's 100–300 KB keyframe in
 * 10–25 ms. Unpaced, Chromium on loopback lost about 7 % of that stream's
 * packets and kept asking for keyframes (media/README.md, "Pacing").
 */
const PACING_BITRATE = 100_000_000;

export const DEFAULT_WEBRTC_PEER_OPTIONS = {
  mtu: 1200, // bytes: leaves room for SRTP, TURN and IPv6 headers under a 1500-byte path MTU
  gopMaxBytes: 8 * 1024 * 1024, // 8 MiB
  keyframeReplayIntervalMs: 1_000, // 1 s: a lossy link sends a PLI per lost frame; one replay per second is enough
  flowTimeoutMs: 2_000, // 2 s, as Kurento's MediaFlowOutStateChanged
  pacingBitrate: PACING_BITRATE,
  pacingBurstBytes: 64 * 1024, // 64 KiB: well inside a browser's UDP receive buffer
} as const;

export type ResolvedWebRtcPeerOptions = Required<
  Omit<WebRtcPeerOptions, 'logger' | 'interfaceAddress' | 'profileLevelId'>
> &
  Pick<WebRtcPeerOptions, 'interfaceAddress' | 'profileLevelId'>;

function intIn(name: string, v: unknown, min: number, max: number, unit: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`WebRtcPeer: ${name} must be an integer (${unit}), got ${String(v)}`);
  }
  if (v < min || v > max) throw new RangeError(`WebRtcPeer: ${name} must be ${min}..${max} ${unit}, got ${v}`);
  return v;
}

/** Validates and merges options; throws TypeError/RangeError naming the option (a caller's mistake). */
export function resolveWebRtcPeerOptions(opts: WebRtcPeerOptions): ResolvedWebRtcPeerOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('WebRtcPeer: options must be an object');
  if (!Array.isArray(opts.iceServers)) {
    throw new TypeError(
      'WebRtcPeer: iceServers must be an array (use [] for none; werift would otherwise use a public STUN server)',
    );
  }
  opts.iceServers.forEach((s, i) => {
    if (
      s === null ||
      typeof s !== 'object' ||
      typeof s.urls !== 'string' ||
      !/^(stun|stuns|turn|turns):/.test(s.urls)
    ) {
      throw new TypeError(`WebRtcPeer: iceServers[${i}].urls must be a stun:/stuns:/turn:/turns: URL string`);
    }
    if (s.username !== undefined && typeof s.username !== 'string') {
      throw new TypeError(`WebRtcPeer: iceServers[${i}].username must be a string`);
    }
    if (s.credential !== undefined && typeof s.credential !== 'string') {
      throw new TypeError(`WebRtcPeer: iceServers[${i}].credential must be a string`);
    }
  });
  const additional = opts.additionalHostAddresses ?? [];
  if (!Array.isArray(additional) || additional.some((a) => typeof a !== 'string' || isIP(a) === 0)) {
    throw new TypeError(
      `WebRtcPeer: additionalHostAddresses must be an array of IP addresses, got ${JSON.stringify(additional)}`,
    );
  }
  if (
    opts.interfaceAddress !== undefined &&
    (typeof opts.interfaceAddress !== 'string' || isIP(opts.interfaceAddress) !== 4)
  ) {
    throw new TypeError(`WebRtcPeer: interfaceAddress must be an IPv4 address, got ${String(opts.interfaceAddress)}`);
  }
  if (opts.profileLevelId !== undefined && !/^[0-9a-fA-F]{6}$/.test(String(opts.profileLevelId))) {
    throw new TypeError(`WebRtcPeer: profileLevelId must be 6 hex digits, got ${String(opts.profileLevelId)}`);
  }
  const d = DEFAULT_WEBRTC_PEER_OPTIONS;
  return {
    iceServers: opts.iceServers.map((s) => ({ ...s })),
    additionalHostAddresses: [...additional],
    interfaceAddress: opts.interfaceAddress,
    profileLevelId: opts.profileLevelId?.toLowerCase(),
    mtu: intIn('mtu', opts.mtu ?? d.mtu, 200, 1400, 'bytes'),
    gopMaxBytes: intIn('gopMaxBytes', opts.gopMaxBytes ?? d.gopMaxBytes, 64 * 1024, 256 * 1024 * 1024, 'bytes'),
    keyframeReplayIntervalMs: intIn(
      'keyframeReplayIntervalMs',
      opts.keyframeReplayIntervalMs ?? d.keyframeReplayIntervalMs,
      0,
      60_000,
      'ms',
    ),
    flowTimeoutMs: intIn('flowTimeoutMs', opts.flowTimeoutMs ?? d.flowTimeoutMs, 100, 60_000, 'ms'),
    pacingBitrate: intIn('pacingBitrate', opts.pacingBitrate ?? d.pacingBitrate, 100_000, 10_000_000_000, 'bit/s'),
    pacingBurstBytes: intIn(
      'pacingBurstBytes',
      opts.pacingBurstBytes ?? d.pacingBurstBytes,
      1500,
      16 * 1024 * 1024,
      'bytes',
    ),
  };
}
