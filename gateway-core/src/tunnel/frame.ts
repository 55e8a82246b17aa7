import { CamgateError } from '../util/index.js';
import { FrameType, type FrameTypeValue } from './constants.js';

/**
 * Frame layout (docs/tunnel.md "Frame layout"), big-endian:
 *
 * | offset | size | field                                   |
 * | 0      | 1    | type                                    |
 * | 1      | 4    | channel id (0 = the tunnel itself)      |
 * | 5      | 4    | seq (sequenced types; 0 otherwise)      |
 * | 9      | 4    | ack: cumulative count received in order |
 * | 13     | n    | payload (UTF-8 text or UTF-8 JSON)      |
 */
export const HEADER_BYTES = 13;

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));

export interface Frame {
  type: FrameTypeValue;
  channel: number;
  seq: number;
  ack: number;
  payload: Buffer;
}

const U32_MAX = 0xffff_ffff;

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`frame ${name} must be a u32, got ${v}`);
}

/** Encodes one frame. Throws RangeError on out-of-range header fields (a programming error). */
export function encodeFrame(f: {
  type: FrameTypeValue;
  channel: number;
  seq: number;
  ack: number;
  payload?: Buffer;
}): Buffer {
  checkU32('channel', f.channel);
  checkU32('seq', f.seq);
  checkU32('ack', f.ack);
  const payload = f.payload ?? Buffer.alloc(0);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt8(f.type, 0);
  out.writeUInt32BE(f.channel, 1);
  out.writeUInt32BE(f.seq, 5);
  out.writeUInt32BE(f.ack, 9);
  payload.copy(out, HEADER_BYTES);
  return out;
}

/**
 * Decodes one WebSocket message. Throws CamgateError CAMGATE_TUNNEL_FRAMING
 * for anything that is not a well-formed frame (the caller closes with 4400).
 * The payload is a view into `buf`, not a copy.
 */
export function decodeFrame(buf: Buffer, maxFrameBytes: number): Frame {
  if (buf.length < HEADER_BYTES) {
    throw new CamgateError('CAMGATE_TUNNEL_FRAMING', `frame too short: ${buf.length} bytes, header is ${HEADER_BYTES}`);
  }
  if (buf.length > maxFrameBytes) {
    throw new CamgateError('CAMGATE_TUNNEL_FRAMING', `frame too large: ${buf.length} bytes, limit ${maxFrameBytes}`);
  }
  const type = buf.readUInt8(0);
  if (!KNOWN_TYPES.has(type)) {
    throw new CamgateError('CAMGATE_TUNNEL_FRAMING', `unknown frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
  return {
    type: type as FrameTypeValue,
    channel: buf.readUInt32BE(1),
    seq: buf.readUInt32BE(5),
    ack: buf.readUInt32BE(9),
    payload: buf.subarray(HEADER_BYTES),
  };
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decode; throws CAMGATE_TUNNEL_PAYLOAD on invalid sequences. */
export function decodeText(payload: Buffer): string {
  try {
    return fatalUtf8.decode(payload);
  } catch {
    throw new CamgateError('CAMGATE_TUNNEL_PAYLOAD', 'payload is not valid UTF-8');
  }
}

/** Strict UTF-8 + JSON decode; throws CAMGATE_TUNNEL_PAYLOAD. */
export function decodeJson(payload: Buffer): unknown {
  const text = decodeText(payload);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CamgateError('CAMGATE_TUNNEL_PAYLOAD', 'payload is not valid JSON');
  }
}

/** JSON-encodes a control payload; throws CAMGATE_TUNNEL_PAYLOAD for values JSON cannot carry. */
export function encodeJson(value: unknown): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new CamgateError('CAMGATE_TUNNEL_PAYLOAD', 'value is not JSON-serialisable', { cause: err });
  }
  if (text === undefined) throw new CamgateError('CAMGATE_TUNNEL_PAYLOAD', 'value is not JSON-serialisable');
  return Buffer.from(text, 'utf8');
}

/** True when `v` is a plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Serial-number arithmetic on u32 sequence numbers (RFC 1982 §3.2): true when
 * `a` is at or after `b`, so the counters may wrap after 2^32 frames.
 */
export function seqAtOrAfter(a: number, b: number): boolean {
  return (a - b) >>> 0 < 0x8000_0000;
}

/** `s + n` modulo 2^32. */
export function seqAdd(s: number, n: number): number {
  return (s + n) >>> 0;
}
