import type { RtcpPacket } from 'werift';
import { performance } from 'node:perf_hooks';
import { fragmentNalu, type H264AccessUnit } from '../../rtsp/index.js';
import type { Logger } from '../../util/index.js';
import { Pacer, type PacerOptions } from './pacer.js';
import type { SyncAnchor } from './lip-sync.js';
import { TimestampRebaser } from './timestamp-rebaser.js';
import { loadedWerift, loadWerift, type WeriftModule } from './werift-lazy.js';

/** Where a viewer's packets go: encrypted (SRTP/SRTCP) and sent, as DtlsSrtpSink does. */
export interface RtpSink {
  readonly ssrc: number;
  /**
   * Sends one RTP packet, given as its 12-byte header and its payload. The
   * writer reuses the header buffer once the call returns.
   */
  sendRtp(header: Buffer, payload: Buffer): void;
  sendRtcp(packets: RtcpPacket[]): void;
}

export interface VideoWriterOptions {
  payloadType: number;
  /** RTP payload budget per packet, bytes. */
  mtu: number;
  pacing: PacerOptions;
  logger: Logger;
  /** Lip sync: sender reports from the camera's clock, shared with the viewer's audio (lip-sync.ts). */
  anchor?: SyncAnchor;
  /** Milliseconds for the retransmission limits and the RTT; tests pass their own. */
  now?: () => number;
}

/** RTP header and SRTP tag bytes around each payload, counted by the pacer. */
const PACKET_OVERHEAD = 12 + 10;
/** Packets kept for retransmission (a power of two): more than a 1.4 MB keyframe at MTU 1200. */
const HISTORY = 2048;
/** Sequence numbers one NACK may ask for; a browser asks for a few. */
const MAX_NACKED = 256;
/** Retransmissions per second at most, whatever a viewer asks: NACKs are network input. */
const MAX_RETRANSMIT_PER_S = 1024;
/** Between two sender reports (RFC 3550 §6.2 keeps them a few seconds apart at most). */
const SR_INTERVAL_MS = 1_000;
/** Sender reports remembered to match a receiver's LSR against (they go 1 s apart). */
const SR_KEPT = 4;
/**
 * A packet is not sent again on NACK within one round trip of its last retransmission (nor within
 * this floor, nor before the first RTT sample): a receiver that repeats its NACK before the copy could
 * have arrived asks twice for one loss. werift's receivers repeat theirs every 5 ms.
 */
const MIN_RESEND_MS = 10;
/** Ceiling of that hold, whatever RTT a (possibly lying) receiver report implies. */
const MAX_RESEND_MS = 1_000;
/** Weight of a new RTT sample (RFC 6298 §2's alpha). */
const RTT_ALPHA = 1 / 8;
const RTP_CLOCK_PER_MS = 90; // H.264 RTP clock, 90 kHz (RFC 6184 §8.2.1)

/**
 * RTP payloads of NAL units already split for some MTU. The camera's NAL
 * buffers are shared by every viewer and by the GOP caches, so a keyframe
 * is fragmented once, not once per viewer and again per replay; an entry
 * lives exactly as long as the NAL unit it was made from.
 */
const fragments = new WeakMap<Buffer, { mtu: number; payloads: Buffer[] }>();

function payloadsOf(nalu: Buffer, mtu: number): Buffer[] {
  const hit = fragments.get(nalu);
  if (hit && hit.mtu === mtu) return hit.payloads;
  const payloads = fragmentNalu(nalu, mtu);
  fragments.set(nalu, { mtu, payloads });
  return payloads;
}

/** One RTP packet of this viewer while it waits in the pacer (its sequence number is given as it leaves). */
interface Packet {
  payload: Buffer;
  timestamp: number;
  marker: boolean;
}

/**
 * Writes H.264 access units to one viewer: RFC 6184 payloads, this viewer's
 * own sequence numbers and timeline, paced (pacer.ts), straight to the
 * sender's DTLS transport. werift's RTCRtpSender.sendRtp clones each packet,
 * rebuilds header extensions, computes an NTP time through strings and feeds a
 * bandwidth estimator we cannot use (we never transcode): about a third of the
 * engine's CPU per viewer. The sink encrypts (dtls-srtp-sink.ts). What it
 * did that viewers need is here instead:
 * retransmission on NACK (RFC 4585 §6.2.1) from a history of sent packets, and
 * sender reports (RFC 3550 §6.4.1). Sequence numbers are given as packets
 * leave, so what a newer keyframe supersedes leaves no gap to NACK.
 */
export class VideoWriter {
  readonly #sink: RtpSink;
  readonly #o: VideoWriterOptions;
  readonly #pacer: Pacer<Packet>;
  readonly #rebaser = new TimestampRebaser();
  // What was sent, for NACKs, in columns indexed by sequence number mod HISTORY: no object per packet
  // outlives its sending (a Packet kept here for 3 s survived young GCs and was promoted, once per
  // packet per viewer). The payloads are the NAL fragments every viewer shares.
  readonly #sentPayload: (Buffer | undefined)[] = new Array<Buffer | undefined>(HISTORY);
  readonly #sentTimestamp = new Uint32Array(HISTORY);
  readonly #sentSeq = new Int32Array(HISTORY).fill(-1);
  readonly #sentMarker = new Uint8Array(HISTORY);
  /** When each held packet was last sent again on NACK (-Infinity: never). */
  readonly #resentAt = new Float64Array(HISTORY).fill(-Infinity);
  /** Our last sender reports: their middle 32 bits of NTP time (RFC 3550 §6.4.1 LSR) and when they left. */
  readonly #srNtp = new Uint32Array(SR_KEPT);
  readonly #srAt = new Float64Array(SR_KEPT).fill(-1);
  #srNext = 0;
  #rttMs: number | undefined;
  /** The RTP header of the packet being sent (RFC 3550 §5.1): version 2, no CSRC, no extension. */
  readonly #header = Buffer.alloc(12);
  #seq = Math.floor(Math.random() * 0x10000);
  /** The pacer refused part of a unit: nothing but a keyframe can be decoded until one comes. */
  #broken = false;
  #packets = 0;
  #octets = 0;
  #lastTimestamp = 0;
  #lastSentAt = 0;
  #srTimer: NodeJS.Timeout | undefined;
  #rtxWindowStart = 0;
  #rtxInWindow = 0;
  /**
   * Packets sent again on NACK, NACKed ones no longer held, ones refused over the rate limit, and ones
   * asked for again within a round trip of their last retransmission (not sent: the copy is on its way).
   */
  readonly stats = { retransmitted: 0, unavailable: 0, limited: 0, repeated: 0 };

  constructor(sink: RtpSink, opts: VideoWriterOptions) {
    this.#sink = sink;
    this.#o = opts;
    this.#header[0] = 0x80;
    this.#header.writeUInt32BE(sink.ssrc >>> 0, 8);
    this.#pacer = new Pacer((p) => this.#emit(p), opts.pacing);
  }

  /** Bytes waiting in the pacer. */
  get queuedBytes(): number {
    return this.#pacer.queuedBytes;
  }

  /**
   * Queues one access unit. A keyframe supersedes whatever still waits (the
   * decoder needs nothing before it). Returns false when the unit was dropped.
   */
  write(au: H264AccessUnit, replay = false): boolean {
    if (au.keyframe) {
      this.#pacer.clear();
      this.#broken = false;
    } else if (this.#broken) {
      return false;
    }
    const timestamp = this.#rebaser.map(au.timestamp, replay);
    // Replayed units are squeezed 1 ms apart: only live ones say when a frame was taken.
    if (!replay) this.#o.anchor?.set(timestamp, RTP_CLOCK_PER_MS * 1000, (au as { ntpMs?: number }).ntpMs);
    const parts: Buffer[] = [];
    for (const nalu of au.nalus) for (const p of payloadsOf(nalu, this.#o.mtu)) parts.push(p);
    for (let i = 0; i < parts.length; i++) {
      const payload = parts[i]!;
      if (!this.#pacer.push({ payload, timestamp, marker: i === parts.length - 1 }, payload.length + PACKET_OVERHEAD)) {
        this.#pacer.clear();
        this.#broken = true;
        this.#o.logger.warn('viewer cannot keep up: dropped video until the next keyframe', {
          queuedBytes: this.#pacer.queuedBytes,
          maxQueueBytes: this.#o.pacing.maxQueueBytes,
        });
        return false;
      }
    }
    return true;
  }

  /** The round-trip time to this viewer from its receiver reports, ms (smoothed); undefined before one. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  /**
   * Sends again the packets a NACK lists that are still held (RFC 4585 §6.2.1), each at most once per
   * round trip: as libwebrtc's sender (RtpPacketHistory) does, a repeated request for a packet sent
   * again less than an RTT ago is ignored, since that copy cannot have arrived yet.
   */
  retransmit(seqs: readonly number[]): void {
    const now = this.#now();
    if (now - this.#rtxWindowStart >= 1_000) {
      this.#rtxWindowStart = now;
      this.#rtxInWindow = 0;
    }
    const hold = Math.min(MAX_RESEND_MS, Math.max(MIN_RESEND_MS, this.#rttMs ?? 0));
    for (const seq of seqs.slice(0, MAX_NACKED)) {
      const slot = seq & (HISTORY - 1);
      const payload = this.#sentPayload[slot];
      if (payload && this.#sentSeq[slot] === seq) {
        if (now - this.#resentAt[slot]! < hold) {
          this.stats.repeated++;
          continue;
        }
        if (++this.#rtxInWindow > MAX_RETRANSMIT_PER_S) {
          this.stats.limited++;
          continue;
        }
        this.#resentAt[slot] = now;
        this.stats.retransmitted++;
        this.#transmit(payload, this.#sentTimestamp[slot]!, this.#sentMarker[slot] === 1, seq);
      } else {
        this.stats.unavailable++;
      }
    }
  }

  /**
   * A report block about this stream from the viewer (RFC 3550 §6.4.1): with the LSR of one of our
   * sender reports and the delay since it (DLSR, 1/65536 s), the round trip is now − sent − DLSR.
   */
  receiverReport(lsr: number, dlsr: number): void {
    if (lsr === 0) return; // no sender report received yet
    for (let i = 0; i < SR_KEPT; i++) {
      if (this.#srNtp[i] !== lsr >>> 0 || this.#srAt[i]! < 0) continue;
      const rtt = this.#now() - this.#srAt[i]! - dlsr / 65.536;
      if (!(rtt >= 0 && rtt < 60_000)) return;
      this.#rttMs = this.#rttMs === undefined ? rtt : this.#rttMs + RTT_ALPHA * (rtt - this.#rttMs);
      return;
    }
  }

  /** Drops everything still queued and stops the sender reports (the viewer left). */
  close(): void {
    this.#pacer.clear();
    this.#sentPayload.fill(undefined);
    this.#sentSeq.fill(-1);
    if (this.#srTimer) clearInterval(this.#srTimer);
    this.#srTimer = undefined;
  }

  #emit(sent: Packet): void {
    const seq = this.#seq;
    this.#seq = (seq + 1) & 0xffff;
    const slot = seq & (HISTORY - 1);
    this.#sentPayload[slot] = sent.payload;
    this.#sentTimestamp[slot] = sent.timestamp;
    this.#sentSeq[slot] = seq;
    this.#sentMarker[slot] = sent.marker ? 1 : 0;
    this.#resentAt[slot] = -Infinity;
    this.#packets = (this.#packets + 1) >>> 0;
    this.#octets = (this.#octets + sent.payload.length) >>> 0;
    this.#lastTimestamp = sent.timestamp;
    this.#lastSentAt = performance.now();
    this.#transmit(sent.payload, sent.timestamp, sent.marker, seq);
    if (!this.#srTimer) {
      this.#srTimer = setInterval(() => this.#report(), SR_INTERVAL_MS);
      this.#srTimer.unref();
    }
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : performance.now();
  }

  #transmit(payload: Buffer, timestamp: number, marker: boolean, seq: number): void {
    const h = this.#header;
    h[1] = (marker ? 0x80 : 0) | this.#o.payloadType;
    h.writeUInt16BE(seq, 2);
    h.writeUInt32BE(timestamp, 4);
    this.#sink.sendRtp(h, payload);
  }

  /** RFC 3550 §6.4.1: the RTP time of "now" on this viewer's timeline, with counts of what was sent. */
  #report(): void {
    const synced = this.#o.anchor?.report();
    const rtpTimestamp = synced
      ? synced.rtpTimestamp
      : (this.#lastTimestamp + Math.round((performance.now() - this.#lastSentAt) * RTP_CLOCK_PER_MS)) >>> 0;
    const packetCount = this.#packets;
    const octetCount = this.#octets;
    const send = (w: WeriftModule): void => {
      if (!this.#srTimer) return; // closed meanwhile
      const ntpTimestamp = synced ? synced.ntp : w.ntpTime();
      this.#srNtp[this.#srNext] = Number((ntpTimestamp >> 16n) & 0xffffffffn);
      this.#srAt[this.#srNext] = this.#now();
      this.#srNext = (this.#srNext + 1) % SR_KEPT;
      const sr = new w.RtcpSrPacket({
        ssrc: this.#sink.ssrc,
        senderInfo: new w.RtcpSenderInfo({
          ntpTimestamp,
          rtpTimestamp,
          packetCount,
          octetCount,
        }),
      });
      this.#sink.sendRtcp([sr]);
    };
    // A peer's sink exists only once werift was loaded (werift-lazy.ts); a sink of a test may come first.
    const w = loadedWerift();
    if (w) send(w);
    else void loadWerift().then(send);
  }
}
