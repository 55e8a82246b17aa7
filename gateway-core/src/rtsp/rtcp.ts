/**
 * RTCP sender reports (RFC 3550 §6.4.1) from a camera's compound RTCP packets
 * (§6.1), for lip sync: each SR ties the sender's NTP wall clock to its RTP
 * clock. Parsing never throws; what is not well-formed RTCP is skipped.
 */

export interface RtcpSenderReport {
  ssrc: number;
  /** The SR's NTP timestamp as ms since the Unix epoch (any value for a camera without a set clock). */
  ntpMs: number;
  rtpTimestamp: number;
}

/** RFC 3550 §12.1: packet type 200 is SR. */
const RTCP_SR = 200;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
/** A compound packet of a camera holds an SR and an SDES; more than 16 parts is not RTCP we read. */
const MAX_PACKETS = 16;

/** The sender reports in one (compound) RTCP packet; [] when there are none or the packet is malformed. */
export function parseSenderReports(buf: Buffer): RtcpSenderReport[] {
  const out: RtcpSenderReport[] = [];
  let offset = 0;
  for (let n = 0; n < MAX_PACKETS && offset + 4 <= buf.length; n++) {
    const b0 = buf[offset]!;
    if (b0 >> 6 !== 2) return out; // §6.4.1: version 2; anything else ends the walk
    const pt = buf[offset + 1]!;
    const bytes = (buf.readUInt16BE(offset + 2) + 1) * 4; // length in 32-bit words minus one
    if (offset + bytes > buf.length) return out;
    // SR: header 4, sender SSRC 4, NTP 8, RTP timestamp 4, packet and octet counts 8.
    if (pt === RTCP_SR && bytes >= 28) {
      const seconds = buf.readUInt32BE(offset + 8);
      const fraction = buf.readUInt32BE(offset + 12);
      out.push({
        ssrc: buf.readUInt32BE(offset + 4),
        ntpMs: (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction * 1000) / 2 ** 32,
        rtpTimestamp: buf.readUInt32BE(offset + 16),
      });
    }
    offset += bytes;
  }
  return out;
}
