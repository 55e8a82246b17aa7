/**
 * Opus over RTP for the RtpEndpoint's audio (HomeKit): reading an Opus
 * packet's TOC (RFC 6716 §3.1), joining 20 ms packets into one of the
 * packet time the receiver asked for (RFC 6716 §3.2.5, code 3), and the
 * RTCP sender report that goes with the stream (RFC 3550 §6.4.1).
 */
import { CamgateError } from '../../util/index.js';

/** Frame duration in 48 kHz samples for each TOC config (RFC 6716 §3.1, Table 2). */
const FRAME_SAMPLES_48K = [
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 480, 960, 120, 240, 480, 960, 120, 240,
  480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];
/** An Opus packet holds at most 120 ms of audio (RFC 6716 §3.2.5). */
const MAX_PACKET_SAMPLES_48K = 5760;
/** RFC 6716 §3.4 [R2]: no frame is longer than 1275 bytes. */
const MAX_FRAME_BYTES = 1275;

export interface OpusToc {
  config: number;
  stereo: boolean;
  /** Frame-count code 0..3 (RFC 6716 §3.2). */
  code: number;
  /** Frames in the packet. */
  frames: number;
  /** Duration in 48 kHz samples. */
  samples48k: number;
}

/** Reads an Opus packet's TOC byte (and frame count for code 3); undefined for a packet that is not valid Opus. */
export function readOpusToc(packet: Buffer): OpusToc | undefined {
  if (packet.length < 1) return undefined;
  const toc = packet[0]!;
  const config = toc >> 3;
  const code = toc & 3;
  let frames = code === 0 ? 1 : 2;
  if (code === 3) {
    if (packet.length < 2) return undefined;
    frames = packet[1]! & 0x3f;
    if (frames === 0) return undefined;
  }
  const samples48k = FRAME_SAMPLES_48K[config]! * frames;
  if (samples48k > MAX_PACKET_SAMPLES_48K) return undefined;
  return { config, stereo: (toc & 4) !== 0, code, frames, samples48k };
}

/**
 * Joins one-frame (code 0) Opus packets of the same TOC into one code-3 VBR
 * packet (RFC 6716 §3.2.5): frame count byte `1 0 M`, then every frame's
 * length but the last (one byte below 252, else two), then the frames.
 */
export function joinOpusFrames(packets: readonly Buffer[]): Buffer {
  if (packets.length === 0) throw new CamgateError('CAMGATE_ENGINE_OPUS', 'no Opus packets to join');
  if (packets.length === 1) return packets[0]!;
  const toc = packets[0]![0]!;
  const lengths: number[] = [];
  for (const p of packets) {
    if (p.length < 1 || p[0] !== toc || (toc & 3) !== 0 || p.length - 1 > MAX_FRAME_BYTES) {
      throw new CamgateError('CAMGATE_ENGINE_OPUS', 'only one-frame Opus packets of the same mode can be joined');
    }
    lengths.push(p.length - 1);
  }
  const head: number[] = [(toc & 0xfc) | 3, 0x80 | packets.length];
  for (const len of lengths.slice(0, -1)) {
    if (len < 252) head.push(len);
    else {
      const first = 252 + (len & 3);
      head.push(first, (len - first) >> 2);
    }
  }
  return Buffer.concat([Buffer.from(head), ...packets.map((p) => p.subarray(1))]);
}

/** Seconds between the NTP era (1900) and the Unix epoch (RFC 5905 §6). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface SenderReportFields {
  ssrc: number;
  /** Wall-clock time of the report, in ms since the Unix epoch. */
  wallMs: number;
  /** The RTP timestamp that corresponds to `wallMs` in the stream's clock. */
  rtpTimestamp: number;
  packets: number;
  octets: number;
  /** SDES CNAME (RFC 3550 §6.5.1), the same as the SDP's `a=ssrc:… cname:`. */
  cname: string;
}

/** A compound RTCP packet: SR without report blocks, then SDES with the CNAME (RFC 3550 §6.1, §6.4.1, §6.5). */
export function buildSenderReport(f: SenderReportFields): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80; // V=2, P=0, RC=0
  sr[1] = 200; // SR
  sr.writeUInt16BE(6, 2); // length in 32-bit words minus one
  sr.writeUInt32BE(f.ssrc >>> 0, 4);
  const seconds = Math.floor(f.wallMs / 1000);
  const fraction = Math.floor(((f.wallMs % 1000) / 1000) * 2 ** 32);
  sr.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) >>> 0, 8);
  sr.writeUInt32BE(fraction >>> 0, 12);
  sr.writeUInt32BE(f.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(f.packets >>> 0, 20);
  sr.writeUInt32BE(f.octets >>> 0, 24);
  const name = Buffer.from(f.cname, 'utf8').subarray(0, 255);
  // Chunk: SSRC, CNAME item (type 1, length, text), then a null item; padded to a 32-bit boundary.
  const chunkLen = 4 + 2 + name.length + 1;
  const padded = Math.ceil(chunkLen / 4) * 4;
  const sdes = Buffer.alloc(4 + padded);
  sdes[0] = 0x81; // V=2, SC=1
  sdes[1] = 202; // SDES
  sdes.writeUInt16BE(padded / 4, 2);
  sdes.writeUInt32BE(f.ssrc >>> 0, 4);
  sdes[8] = 1;
  sdes[9] = name.length;
  name.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}

/** RFC 5761 §4: with RTP and RTCP on one port, packet types 192..223 in the second byte are RTCP. */
export function isRtcp(packet: Buffer): boolean {
  return packet.length >= 2 && packet[1]! >= 192 && packet[1]! <= 223;
}
