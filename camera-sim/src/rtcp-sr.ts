/**
 * RTCP sender reports for the simulated camera (RFC 3550 §6.4.1), sent as a
 * compound packet SR + SDES CNAME (§6.1 requires the CNAME in every compound
 * packet). Receivers use the SR to map RTP time to wall-clock time, as they
 * do with a real camera.
 */

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (RFC 5905 §6). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface SenderReportFields {
  ssrc: number;
  /** Wall-clock time of `rtpTimestamp`, Unix epoch milliseconds. */
  wallClockMs: number;
  rtpTimestamp: number;
  /** RTP packets sent so far. */
  packetCount: number;
  /** RTP payload octets sent so far (headers and padding excluded). */
  octetCount: number;
  /** Canonical name, at most 255 bytes of UTF-8. */
  cname: string;
}

export function buildSenderReport(f: SenderReportFields): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80; // V=2, P=0, RC=0
  sr[1] = 200; // PT=SR
  sr.writeUInt16BE(28 / 4 - 1, 2); // length in 32-bit words minus one
  sr.writeUInt32BE(f.ssrc >>> 0, 4);
  const secs = Math.floor(f.wallClockMs / 1000);
  sr.writeUInt32BE((secs + NTP_UNIX_OFFSET_S) >>> 0, 8); // NTP timestamp, most significant word
  sr.writeUInt32BE(Math.floor(((f.wallClockMs - secs * 1000) / 1000) * 2 ** 32) >>> 0, 12); // fraction
  sr.writeUInt32BE(f.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(f.packetCount >>> 0, 20);
  sr.writeUInt32BE(f.octetCount >>> 0, 24);

  // RFC 3550 §6.5: SDES with one chunk: SSRC, CNAME item (type 1, length, text), then 1-4 null octets to a word boundary.
  const name = Buffer.from(f.cname, 'utf8').subarray(0, 255);
  const itemLen = 2 + name.length;
  const chunkLen = 4 + Math.ceil((itemLen + 1) / 4) * 4;
  const sdes = Buffer.alloc(4 + chunkLen);
  sdes[0] = 0x81; // V=2, P=0, SC=1
  sdes[1] = 202; // PT=SDES
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(f.ssrc >>> 0, 4);
  sdes[8] = 1; // CNAME
  sdes[9] = name.length;
  name.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}
