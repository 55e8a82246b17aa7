/**
 * Opus packets in an Ogg stream (RFC 7845), so FFmpeg can decode a talker's
 * voice from its standard input: the browser sends Opus over RTP (RFC 7587)
 * and FFmpeg reads no RTP from a pipe. One packet per page keeps the delay at
 * one packet (20 ms from browsers); the granule position counts 48 kHz samples
 * (RFC 7845 §4) from the TOC byte of each packet (RFC 6716 §3.1).
 */
import { opusPacketSamples } from './ogg-opus.js';

/** Ogg CRC-32: polynomial 0x04c11db7, not reflected, initial 0, no final xor (RFC 3533 §6, "CRC_checksum"). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(buf: Buffer): number {
  let crc = 0;
  for (const byte of buf) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

/** The Opus pre-skip FFmpeg and libopus use for 48 kHz (RFC 7845 §5.1: 3840 recommended max; 312 is libopus'). */
const PRE_SKIP = 312;
/** Largest Ogg page body this writer makes: 255 lacing values of 255 bytes (RFC 3533 §6). */
const MAX_PAGE_BODY = 255 * 255;

/** Writes one logical Ogg Opus stream, page by page. */
export class OggOpusWriter {
  readonly #serial: number;
  #sequence = 0;
  #granule = 0n;

  constructor(serial: number) {
    this.#serial = serial >>> 0;
  }

  /** The two header pages (RFC 7845 §5): OpusHead (mono, 48 kHz) then OpusTags. */
  headers(): Buffer {
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'ascii');
    head[8] = 1; // version
    head[9] = 1; // channels: a microphone; a stereo packet is downmixed by the decoder
    head.writeUInt16LE(PRE_SKIP, 10);
    head.writeUInt32LE(48_000, 12); // input sample rate (informational)
    head.writeInt16LE(0, 16); // output gain
    head[18] = 0; // channel mapping family 0
    const vendor = Buffer.from('camgate', 'ascii');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'ascii');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    tags.writeUInt32LE(0, 12 + vendor.length);
    return Buffer.concat([this.#page(head, 0x02, 0n), this.#page(tags, 0, 0n)]);
  }

  /** One audio page with one packet; undefined for a packet Ogg cannot carry in one page or that has no audio. */
  packet(opus: Buffer): Buffer | undefined {
    const samples = opusPacketSamples(opus);
    if (samples === 0 || opus.length > MAX_PAGE_BODY - 1) return undefined;
    this.#granule += BigInt(samples);
    return this.#page(opus, 0, this.#granule);
  }

  #page(body: Buffer, headerType: number, granule: bigint): Buffer {
    // Lacing: 255 for each full 255-byte segment, then the remainder (0 when the body is a multiple of 255).
    const lacing: number[] = [];
    let left = body.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
    const header = Buffer.alloc(27 + lacing.length);
    header.write('OggS', 0, 'ascii');
    header[4] = 0; // stream structure version
    header[5] = headerType;
    header.writeBigUInt64LE(granule, 6);
    header.writeUInt32LE(this.#serial, 14);
    header.writeUInt32LE(this.#sequence++, 18);
    header.writeUInt32LE(0, 22); // CRC, filled below
    header[26] = lacing.length;
    Buffer.from(lacing).copy(header, 27);
    const page = Buffer.concat([header, body]);
    page.writeUInt32LE(oggCrc(page), 22);
    return page;
  }
}
