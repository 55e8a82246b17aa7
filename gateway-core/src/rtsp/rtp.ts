/**
 * RTP fixed header (RFC 3550 §5.1). Parsing never throws: a packet that is not
 * well-formed RTP yields `undefined`, because it comes straight off a camera's
 * socket and one bad packet must not disturb the stream.
 */

/** The parsed RTP header; `payload` is a view into the original buffer (padding removed). */
export interface RtpHeader {
  version: 2;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** Header-extension profile and data (RFC 3550 §5.3.1), when the X bit is set. */
  extensionProfile?: number;
  extensionData?: Buffer;
  /** Byte offset of the payload in the packet. */
  payloadOffset: number;
  /** The payload without header, CSRCs, extension and padding. */
  payload: Buffer;
}

export const RTP_HEADER_BYTES = 12;

/** Parses an RTP packet; `undefined` on anything that is not RTP version 2 or is truncated. */
export function parseRtpHeader(buf: Buffer): RtpHeader | undefined {
  if (!Buffer.isBuffer(buf) || buf.length < RTP_HEADER_BYTES) return undefined;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  if (b0 >> 6 !== 2) return undefined;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  let offset = RTP_HEADER_BYTES + cc * 4;
  if (buf.length < offset) return undefined;
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(buf.readUInt32BE(RTP_HEADER_BYTES + i * 4));
  let extensionProfile: number | undefined;
  let extensionData: Buffer | undefined;
  if (extension) {
    // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words, then data.
    if (buf.length < offset + 4) return undefined;
    extensionProfile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + words * 4;
    if (buf.length < end) return undefined;
    extensionData = buf.subarray(offset + 4, end);
    offset = end;
  }
  let end = buf.length;
  if (padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    const pad = buf[buf.length - 1]!;
    if (pad === 0 || end - pad < offset) return undefined;
    end -= pad;
  }
  const header: RtpHeader = {
    version: 2,
    padding,
    extension,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    payloadOffset: offset,
    payload: buf.subarray(offset, end),
  };
  if (extension) {
    header.extensionProfile = extensionProfile;
    header.extensionData = extensionData;
  }
  return header;
}

/** Writes a 12-byte RTP header (no CSRC, no extension, no padding) followed by `payload`. */
export function buildRtpPacket(h: {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}): Buffer {
  const out = Buffer.allocUnsafe(RTP_HEADER_BYTES + h.payload.length);
  out[0] = 0x80; // V=2, P=0, X=0, CC=0
  out[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  h.payload.copy(out, RTP_HEADER_BYTES);
  return out;
}

/** Distance from `a` to `b` in 16-bit sequence space (RFC 3550 App. A.1), in -32768..32767. */
export function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}
