/**
 * Reads Opus packets out of the Ogg stream FFmpeg writes on stdout
 * (RFC 3533 pages, RFC 7845 Opus mapping). The input is our own child's
 * pipe, yet it is parsed with bounds all the same: a page header is checked
 * field by field, a packet larger than `maxPacketBytes` is dropped, and the
 * buffer never holds more than one page.
 */

export interface OggOpusPacket {
  /** One Opus packet (RFC 6716 §3), as an RTP payload carries it (RFC 7587 §4.2). */
  packet: Buffer;
  /** Its duration at 48 kHz, from its TOC byte. */
  samples: number;
}

/** RFC 3533 §6: 27 bytes of header, then up to 255 lacing values. */
const PAGE_HEADER = 27;
/** The largest Opus packet is 1275 bytes per frame × 48 frames (RFC 6716 §3.2.5); anything above is not Opus. */
export const MAX_OPUS_PACKET = 61_440;

/** Samples at 48 kHz of one frame for each TOC config (RFC 6716 §3.1, Table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]!; // SILK 10/20/40/60 ms
  if (config < 16) return [480, 960][config & 1]!; // Hybrid 10/20 ms
  return [120, 240, 480, 960][config & 3]!; // CELT 2.5/5/10/20 ms
}

/** The duration of an Opus packet at 48 kHz (RFC 6716 §3.1–3.2), or 0 when it is malformed. */
export function opusPacketSamples(packet: Buffer): number {
  if (packet.length < 1) return 0;
  const toc = packet[0]!;
  const per = frameSamples(toc >> 3);
  const c = toc & 3;
  if (c === 0) return per;
  if (c === 1 || c === 2) return 2 * per;
  if (packet.length < 2) return 0;
  const n = packet[1]! & 0x3f;
  const total = n * per;
  return n === 0 || total > 5760 ? 0 : total; // at most 120 ms (§3.2.5)
}

export class OggOpusReader {
  readonly #maxPacket: number;
  #buf: Buffer = Buffer.alloc(0);
  /** Segments of a packet continued on the next page. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #dropping = false;
  #headersSeen = 0;
  /** OpusHead's pre-skip (RFC 7845 §5.1): samples at 48 kHz the encoder put before the input's first sample. */
  preSkip = 0;
  readonly stats = { pages: 0, packets: 0, dropped: 0, resyncs: 0 };

  constructor(maxPacketBytes = MAX_OPUS_PACKET) {
    this.#maxPacket = maxPacketBytes;
  }

  /** Takes bytes from the pipe; returns the audio packets completed by them (headers are consumed). */
  push(chunk: Buffer): OggOpusPacket[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: OggOpusPacket[] = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < PAGE_HEADER) break;
      if (b.readUInt32BE(0) !== 0x4f676753 /* OggS */ || b[4] !== 0) {
        // Lost sync (never from a sane FFmpeg): skip to the next capture pattern.
        const next = b.indexOf('OggS', 1);
        this.stats.resyncs++;
        this.#resetPacket();
        this.#buf = next < 0 ? b.subarray(Math.max(0, b.length - 3)) : b.subarray(next);
        if (next < 0) break;
        continue;
      }
      const segments = b[26]!;
      const headerLen = PAGE_HEADER + segments;
      if (b.length < headerLen) break;
      let bodyLen = 0;
      for (let i = 0; i < segments; i++) bodyLen += b[PAGE_HEADER + i]!;
      if (b.length < headerLen + bodyLen) break;
      this.stats.pages++;
      if ((b[5]! & 1) === 0 && this.#partial.length > 0) this.#resetPacket(); // a continuation went missing
      let pos = headerLen;
      for (let i = 0; i < segments; i++) {
        const lace = b[PAGE_HEADER + i]!;
        this.#add(b.subarray(pos, pos + lace));
        pos += lace;
        if (lace < 255) this.#finish(out);
      }
      // Copy what is left: the page's bytes must not pin FFmpeg's chunk.
      this.#buf = Buffer.from(b.subarray(headerLen + bodyLen));
    }
    return out;
  }

  #add(seg: Buffer): void {
    if (this.#dropping) return;
    this.#partialBytes += seg.length;
    if (this.#partialBytes > this.#maxPacket) {
      this.#dropping = true;
      this.#partial = [];
      return;
    }
    this.#partial.push(seg);
  }

  #finish(out: OggOpusPacket[]): void {
    if (this.#dropping) {
      this.stats.dropped++;
      this.#resetPacket();
      return;
    }
    const packet = Buffer.concat(this.#partial, this.#partialBytes);
    this.#resetPacket();
    if (this.#headersSeen < 2) {
      // RFC 7845 §5: the first packet is OpusHead, the second OpusTags.
      if (this.#headersSeen === 0 && packet.length >= 19 && packet.toString('latin1', 0, 8) === 'OpusHead') {
        this.preSkip = packet.readUInt16LE(10);
      }
      this.#headersSeen++;
      return;
    }
    const samples = opusPacketSamples(packet);
    if (samples === 0) {
      this.stats.dropped++;
      return;
    }
    this.stats.packets++;
    out.push({ packet, samples });
  }

  #resetPacket(): void {
    this.#partial = [];
    this.#partialBytes = 0;
    this.#dropping = false;
  }
}
