import type { H264AccessUnit } from '../../rtsp/index.js';

/** An access unit replayed from a GOP cache rather than received live (see SharedRtspSources). */
export type ReplayedAccessUnit = H264AccessUnit & { readonly replay?: true };

/**
 * Whether `au` is an H.264 access unit a sender can packetize: NAL units as
 * Buffers and a finite timestamp. Senders check what they are fed because a
 * connected element may be anything the media plane wires to them.
 */
export function isAccessUnit(au: unknown): au is ReplayedAccessUnit {
  if (au === null || typeof au !== 'object') return false;
  const { nalus, timestamp } = au as Partial<H264AccessUnit>;
  return (
    Array.isArray(nalus) &&
    nalus.every((n) => Buffer.isBuffer(n)) &&
    typeof timestamp === 'number' &&
    Number.isFinite(timestamp)
  );
}
