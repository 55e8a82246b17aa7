import type { Logger } from '../util/index.js';

/** Limits and timers shared by both ends of the tunnel. */
export interface TunnelCommonOptions {
  /** Largest WebSocket message accepted or sent, header included (also ws `maxPayload`). */
  maxFrameBytes?: number;
  /** Most channels open at once on one tunnel; opening more fails with CAMGATE_TUNNEL_CHANNEL_LIMIT. */
  maxChannels?: number;
  /** Interval between WebSocket pings, and between liveness checks. */
  heartbeatMs?: number;
  /** The peer is declared dead (socket terminated) after this long without any traffic or pong. */
  deadAfterMs?: number;
  /** Sent-but-unacknowledged frames kept for retransmission; beyond it new frames wait in the send queue. */
  maxUnackedFrames?: number;
  /** Sent-but-unacknowledged bytes kept for retransmission; beyond it new frames wait in the send queue. */
  maxUnackedBytes?: number;
  /** Bytes one channel may queue while it cannot send (detached, or window full); beyond it the channel closes. */
  maxChannelBufferBytes?: number;
  /** A standalone ACK is sent at most this long after an unacknowledged frame arrives (if no frame carried it). */
  ackDelayMs?: number;
  /** Where diagnostics go; secrets never reach it. Defaults to the `camgate:tunnel` debug logger. */
  logger?: Logger;
}

export const DEFAULT_TUNNEL_COMMON_OPTIONS = {
  maxFrameBytes: 1024 * 1024, // 1 MiB
  maxChannels: 256,
  heartbeatMs: 10_000, // 10 s
  deadAfterMs: 25_000, // 25 s: two missed heartbeats plus slack
  maxUnackedFrames: 4096,
  maxUnackedBytes: 8 * 1024 * 1024, // 8 MiB
  maxChannelBufferBytes: 1024 * 1024, // 1 MiB
  ackDelayMs: 20, // 20 ms
} as const;

export type ResolvedCommonOptions = { -readonly [K in keyof typeof DEFAULT_TUNNEL_COMMON_OPTIONS]: number };

/** Throws TypeError/RangeError naming the option, its value and the allowed range. */
export function checkInt(owner: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${owner}: option ${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${owner}: option ${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** Like checkInt but for finite numbers (fractions allowed). */
export function checkNumber(owner: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${owner}: option ${name} must be a finite number, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${owner}: option ${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

const DAY = 86_400_000;

/** Merges defaults into the common options and validates every field. */
export function resolveCommonOptions(owner: string, o: TunnelCommonOptions): ResolvedCommonOptions {
  const d = DEFAULT_TUNNEL_COMMON_OPTIONS;
  const r: ResolvedCommonOptions = {
    maxFrameBytes: checkInt(owner, 'maxFrameBytes', o.maxFrameBytes ?? d.maxFrameBytes, 1024, 64 * 1024 * 1024),
    maxChannels: checkInt(owner, 'maxChannels', o.maxChannels ?? d.maxChannels, 1, 1_000_000),
    heartbeatMs: checkInt(owner, 'heartbeatMs', o.heartbeatMs ?? d.heartbeatMs, 10, DAY),
    deadAfterMs: checkInt(owner, 'deadAfterMs', o.deadAfterMs ?? d.deadAfterMs, 20, DAY),
    maxUnackedFrames: checkInt(owner, 'maxUnackedFrames', o.maxUnackedFrames ?? d.maxUnackedFrames, 1, 1 << 24),
    maxUnackedBytes: checkInt(owner, 'maxUnackedBytes', o.maxUnackedBytes ?? d.maxUnackedBytes, 1024, 2 ** 31),
    maxChannelBufferBytes: checkInt(
      owner,
      'maxChannelBufferBytes',
      o.maxChannelBufferBytes ?? d.maxChannelBufferBytes,
      1024,
      2 ** 31,
    ),
    ackDelayMs: checkInt(owner, 'ackDelayMs', o.ackDelayMs ?? d.ackDelayMs, 0, 60_000),
  };
  if (r.deadAfterMs <= r.heartbeatMs) {
    throw new RangeError(
      `${owner}: option deadAfterMs (${r.deadAfterMs}) must be greater than heartbeatMs (${r.heartbeatMs})`,
    );
  }
  return r;
}
