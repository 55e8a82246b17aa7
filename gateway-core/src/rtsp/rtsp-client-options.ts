/** Options of RtspClient, their defaults and validation; and the SPS/PPS injection it applies to keyframes. */
import type { Logger } from '../util/logger.js';
import { NAL_TYPE, nalType } from './h264-rtp.js';
import type { H264AccessUnit } from './h264-rtp.js';

export interface RtspClientOptions {
  /** Where to log; defaults to the `camgate:rtsp` debug logger. */
  logger?: Logger;
  /** TCP connect timeout, ms. */
  connectTimeoutMs?: number;
  /** Time to wait for each RTSP response, ms. */
  requestTimeoutMs?: number;
  /**
   * Reconnect when no video RTP arrives for this long while playing, ms. Short, because a camera that
   * stops sending without closing its TCP connection must show "camera lost" within 3 s (issue 11).
   */
  stallTimeoutMs?: number;
  /**
   * Reconnect when the first video RTP of a session has not arrived this long after PLAY, ms. Longer than
   * `stallTimeoutMs`: a camera may start its encoder only when a session plays.
   */
  firstVideoTimeoutMs?: number;
  /** Longest interval between keep-alive requests, ms; the session timeout / 2 applies when shorter. */
  keepAliveMs?: number;
  /**
   * Reconnect delay: starts at `initialMs`, doubles per failed attempt, capped at `maxMs` — or at
   * `watchedMaxMs` while someone watches (`setWatched(true)`), so video is back within 3 s of the
   * camera's return. Each delay is spread by ±`jitter` (a fraction) so that many gateways, or many
   * cameras behind one switch that rebooted, do not retry in lockstep.
   */
  backoff?: { initialMs?: number; maxMs?: number; watchedMaxMs?: number; jitter?: number };
  /** Limit for one RTSP header block and for one body (the SDP), bytes. */
  maxMessageBytes?: number;
  /** Largest H.264 access unit kept, bytes; larger ones are dropped. */
  maxAccessUnitBytes?: number;
  /** User-Agent header (RFC 2326 §12.41). */
  userAgent?: string;
  /**
   * Asked at each DESCRIBE of a camera that offers H.265 and no H.264: true plays it (its access units carry
   * H.265 NAL units, for a transcoder), false fails with CAMGATE_RTSP_UNSUPPORTED. Default: never.
   */
  acceptH265?: () => boolean;
  /**
   * SETUP the camera's first audio track it sends (PCMA, PCMU, AAC mpeg4-generic, Opus) on interleaved
   * channels 2-3 after the video, and emit `audio`/`audioFrame`. False: video only, as before audio existed.
   */
  audio?: boolean;
  /**
   * Ask for the camera's ONVIF back channel (`Require: www.onvif.org/ver20/backchannel` on DESCRIBE, SETUP
   * and PLAY; ONVIF Streaming Spec §5.3), SETUP it on channels 4-5 and allow `sendBackchannel`.
   */
  backchannel?: boolean;
}

export const DEFAULT_RTSP_CLIENT_OPTIONS = {
  connectTimeoutMs: 5_000, // 5 s
  requestTimeoutMs: 10_000, // 10 s
  stallTimeoutMs: 2_000, // 2 s: "camera lost" must show within 3 s; cameras send >= 1 frame/s
  firstVideoTimeoutMs: 10_000, // 10 s: some encoders start only when a session plays
  keepAliveMs: 30_000, // 30 s: half of the 60 s default session timeout (RFC 2326 §12.37)
  // 0.25 s doubling up to 10 s unwatched; watched at most 0.7 s apart (one SYN on the LAN), so the next
  // attempt, the handshake and the camera's first IDR fit in the 3 s the issue gives; ±20 % jitter
  backoff: { initialMs: 250, maxMs: 10_000, watchedMaxMs: 700, jitter: 0.2 },
  maxMessageBytes: 64 * 1024, // 64 KiB
  maxAccessUnitBytes: 4 * 1024 * 1024, // 4 MiB
  userAgent: 'camgate',
  teardownTimeoutMs: 2_000, // 2 s: close() waits at most this for the TEARDOWN answer
  audio: true,
  backchannel: false,
} as const;

export interface ResolvedRtspClientOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  stallTimeoutMs: number;
  firstVideoTimeoutMs: number;
  keepAliveMs: number;
  backoff: { initialMs: number; maxMs: number; watchedMaxMs: number; jitter: number };
  maxMessageBytes: number;
  maxAccessUnitBytes: number;
  userAgent: string;
  teardownTimeoutMs: number;
  acceptH265: () => boolean;
  audio: boolean;
  backchannel: boolean;
}

function int(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(
      `RtspClient: ${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  if (value < min || value > max) throw new RangeError(`RtspClient: ${name} must be ${min}..${max}, got ${value}`);
  return value;
}

/** Merges options with the defaults; throws TypeError/RangeError naming the option. */
export function validateClientOptions(opts: RtspClientOptions): ResolvedRtspClientOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('RtspClient: options must be an object');
  const d = DEFAULT_RTSP_CLIENT_OPTIONS;
  if (opts.backoff !== undefined && (opts.backoff === null || typeof opts.backoff !== 'object')) {
    throw new TypeError('RtspClient: backoff must be an object { initialMs, maxMs }');
  }
  const initialMs = int('backoff.initialMs', opts.backoff?.initialMs, d.backoff.initialMs, 1, 3_600_000);
  const maxMs = int('backoff.maxMs', opts.backoff?.maxMs, Math.max(d.backoff.maxMs, initialMs), initialMs, 3_600_000);
  const userAgent = opts.userAgent ?? d.userAgent;
  if (typeof userAgent !== 'string' || !/^[\x20-\x7e]{1,200}$/.test(userAgent)) {
    throw new TypeError('RtspClient: userAgent must be 1..200 printable ASCII characters');
  }
  if (opts.logger !== undefined && typeof opts.logger?.debug !== 'function') {
    throw new TypeError('RtspClient: logger must implement the Logger interface');
  }
  const watchedMaxMs = int(
    'backoff.watchedMaxMs',
    opts.backoff?.watchedMaxMs,
    Math.min(d.backoff.watchedMaxMs, maxMs),
    1,
    maxMs,
  );
  const jitter = opts.backoff?.jitter ?? d.backoff.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 0.5)) {
    throw new RangeError(`RtspClient: backoff.jitter must be a number in 0..0.5, got ${String(jitter)}`);
  }
  if (opts.acceptH265 !== undefined && typeof opts.acceptH265 !== 'function') {
    throw new TypeError('RtspClient: acceptH265 must be a function returning a boolean');
  }
  for (const name of ['audio', 'backchannel'] as const) {
    if (opts[name] !== undefined && typeof opts[name] !== 'boolean') {
      throw new TypeError(`RtspClient: ${name} must be a boolean, got ${typeof opts[name]}`);
    }
  }
  const requestTimeoutMs = int('requestTimeoutMs', opts.requestTimeoutMs, d.requestTimeoutMs, 1, 600_000);
  return {
    connectTimeoutMs: int('connectTimeoutMs', opts.connectTimeoutMs, d.connectTimeoutMs, 1, 600_000),
    requestTimeoutMs,
    stallTimeoutMs: int('stallTimeoutMs', opts.stallTimeoutMs, d.stallTimeoutMs, 1, 3_600_000),
    firstVideoTimeoutMs: int('firstVideoTimeoutMs', opts.firstVideoTimeoutMs, d.firstVideoTimeoutMs, 1, 3_600_000),
    keepAliveMs: int('keepAliveMs', opts.keepAliveMs, d.keepAliveMs, 1_000, 3_600_000),
    backoff: { initialMs, maxMs, watchedMaxMs, jitter },
    maxMessageBytes: int('maxMessageBytes', opts.maxMessageBytes, d.maxMessageBytes, 1024, 16 * 1024 * 1024),
    maxAccessUnitBytes: int('maxAccessUnitBytes', opts.maxAccessUnitBytes, d.maxAccessUnitBytes, 1024, 256 << 20),
    userAgent,
    teardownTimeoutMs: Math.min(requestTimeoutMs, d.teardownTimeoutMs),
    acceptH265: opts.acceptH265 ?? (() => false),
    audio: opts.audio ?? d.audio,
    backchannel: opts.backchannel ?? d.backchannel,
  };
}

/**
 * Puts SPS and PPS in front of a keyframe that lacks them, for cameras that
 * only announce them in the SDP (RFC 6184 §8.1 sprop-parameter-sets): a
 * decoder joining at this IDR needs both. They go after an access unit
 * delimiter, which must stay first (H.264 §7.4.1.2.3).
 */
export function insertParameterSets(au: H264AccessUnit, sps: Buffer | undefined, pps: Buffer | undefined): void {
  const types = new Set(au.nalus.map(nalType));
  if (sps && !types.has(NAL_TYPE.SPS)) {
    // The SPS goes first (after an AUD): a PPS already in the unit refers to it.
    const at = au.nalus.length > 0 && nalType(au.nalus[0]!) === NAL_TYPE.AUD ? 1 : 0;
    au.nalus.splice(at, 0, sps);
  }
  if (pps && !types.has(NAL_TYPE.PPS)) {
    // The PPS goes just before the first slice, so after the SPS and any SEI.
    const firstSlice = au.nalus.findIndex((n) => {
      const t = nalType(n);
      return t >= NAL_TYPE.NON_IDR && t <= NAL_TYPE.IDR;
    });
    au.nalus.splice(firstSlice < 0 ? au.nalus.length : firstSlice, 0, pps);
  }
}
