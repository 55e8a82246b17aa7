import { RtpHeader, RtpPacket, type RTCRtpSender } from 'werift';
import { fragmentNalu, type H264AccessUnit } from '../../rtsp/index.js';
import type { Logger } from '../../util/index.js';
import { Pacer, type PacerOptions } from './pacer.js';
import { TimestampRebaser } from './timestamp-rebaser.js';

export interface VideoWriterOptions {
  payloadType: number;
  /** RTP payload budget per packet, bytes. */
  mtu: number;
  pacing: PacerOptions;
  logger: Logger;
}

/** RTP header and SRTP tag bytes around each payload, counted by the pacer. */
const PACKET_OVERHEAD = 12 + 10;

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

interface Queued {
  payload: Buffer;
  timestamp: number;
  marker: boolean;
}

/**
 * Writes H.264 access units to one viewer's werift sender: RFC 6184 payloads,
 * this viewer's own sequence numbers and timeline, paced (pacer.ts). Sequence
 * numbers are given when a packet leaves, so what `restart()` drops leaves no
 * gap for the browser to NACK. werift takes `RtpPacket` objects as they are
 * (a Buffer it would parse again) and rewrites SSRC and payload type itself.
 */
export class VideoWriter {
  readonly #sender: RTCRtpSender;
  readonly #o: VideoWriterOptions;
  readonly #pacer: Pacer<Queued>;
  readonly #rebaser = new TimestampRebaser();
  #seq = Math.floor(Math.random() * 0x10000);
  /** The pacer refused part of a unit: nothing but a keyframe can be decoded until one comes. */
  #broken = false;

  constructor(sender: RTCRtpSender, opts: VideoWriterOptions) {
    this.#sender = sender;
    this.#o = opts;
    this.#pacer = new Pacer((q) => this.#emit(q), opts.pacing);
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

  /** Drops everything still queued (the viewer left). */
  close(): void {
    this.#pacer.clear();
  }

  #emit(q: Queued): void {
    const header = new RtpHeader({
      payloadType: this.#o.payloadType,
      sequenceNumber: this.#seq,
      timestamp: q.timestamp,
      marker: q.marker,
    });
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#sender
      .sendRtp(new RtpPacket(header, q.payload))
      .catch((err: unknown) => this.#o.logger.debug('sendRtp failed', { err }));
  }
}
