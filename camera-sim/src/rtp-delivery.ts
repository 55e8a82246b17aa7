/**
 * RTP and RTCP out of the simulated camera: each picture and audio packet to
 * every playing session that set up its track, on the session's interleaved
 * channel (RFC 2326 §10.12) or UDP ports, with one RTCP sender report per
 * track and second (RFC 3550 §6.4.1). A viewer too slow to take video loses
 * pictures until the next IDR; one too slow for audio loses audio packets.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@camgate/core';
import type { AudioFormat } from './audio-track.js';
import { buildSenderReport } from './rtcp-sr.js';
import { interleavedHeader } from './rtsp-response.js';
import { rtpPacket, type Session, type SrCounters, type TrackDest } from './rtsp-session.js';
import type { RtspStreamInfo } from './sdp.js';
import type { UdpPair } from './udp-pair.js';

// RTCP sender report period: RFC 3550 §6.2 allows a "reduced minimum" of 360 / (session kbit/s) seconds,
// ~0.1 s for our multi-megabit stream, so one per second is well within the rules and lets receivers sync fast.
const SR_INTERVAL_MS = 1000; // 1 s
const CNAME = 'camera-sim@camgate';

/** One encoded picture handed to `deliver`. */
export interface SimPicture {
  frameNumber: number;
  keyframe: boolean;
  nalus: Buffer[];
  /** Capture time on the camera's clock (epoch ms), what the RTCP sender reports map RTP time to. */
  captureMs: number;
}

/** A viewer's RTSP connection and its session. */
export interface DeliveryTarget {
  socket: net.Socket;
  session: Session | undefined;
}

export interface RtpDeliveryOptions {
  stream: RtspStreamInfo;
  audio?: AudioFormat;
  /** Bytes queued to a viewer above which it loses what is sent. */
  maxQueuedBytes: number;
  /** The shared UDP socket pair, while there is one. */
  udp: () => UdpPair | undefined;
  logger: Logger;
}

export class RtpDelivery {
  readonly #opts: RtpDeliveryOptions;
  readonly #log: Logger;
  /** Pictures not sent to some viewer because it was too slow (summed over viewers). */
  framesDropped = 0;

  constructor(opts: RtpDeliveryOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
  }

  /** Sends one picture to every playing session that set up video. */
  picture(conns: Iterable<DeliveryTarget>, pic: SimPicture): void {
    const { stream, maxQueuedBytes } = this.#opts;
    for (const c of conns) {
      const s = c.session;
      const v = s?.video;
      if (!s?.playing || !v || c.socket.destroyed) continue;
      if (v.waitingForIdr && !pic.keyframe) {
        if (v.firstFrame !== undefined) this.framesDropped++; // not counted while a new viewer waits for its first IDR
        continue;
      }
      if (v.dest.kind === 'udp' && !this.#opts.udp()) continue;
      if (this.#queued(c, v.dest) > maxQueuedBytes) {
        this.framesDropped++;
        // The viewer is too slow: drop this picture and every one up to the next IDR (H.264 needs the chain).
        if (!v.waitingForIdr) this.#log.debug('viewer too slow, waiting for next IDR', { session: s.id });
        v.waitingForIdr = true;
        continue;
      }
      v.waitingForIdr = false;
      v.firstFrame ??= pic.frameNumber;
      const nalus = pic.keyframe && stream.parameterSetsInBand ? [stream.sps, stream.pps, ...pic.nalus] : pic.nalus;
      // 90 kHz RTP clock (RFC 6184 §5.1), counted from this session's random base.
      const timestamp = (v.tsBase + Math.round(((pic.frameNumber - v.firstFrame) * 90000) / stream.fps)) >>> 0;
      const packets = v.packetizer.packetize({ nalus, timestamp, keyframe: pic.keyframe });
      const sr = this.#count(v, v.packetizer.ssrc, packets, timestamp, pic.captureMs);
      this.#send(c, v.dest, packets, sr);
    }
  }

  /**
   * Sends audio packet `index` (on the camera's clock: its first sample is sample index·samplesPerPacket) to
   * every playing session that set up audio. A viewer too slow to take it loses it (audio has no chain to keep).
   */
  audio(
    conns: Iterable<DeliveryTarget>,
    index: number,
    payload: Buffer,
    samplesPerPacket: number,
    captureMs: number,
  ): void {
    const format = this.#opts.audio;
    if (!format) return;
    for (const c of conns) {
      const s = c.session;
      const a = s?.audio;
      if (!s?.playing || !a || c.socket.destroyed) continue;
      if (a.dest.kind === 'udp' && !this.#opts.udp()) continue;
      if (this.#queued(c, a.dest) > this.#opts.maxQueuedBytes) continue;
      const first = a.firstPacket === undefined;
      a.firstPacket ??= index;
      const timestamp = (a.tsBase + (index - a.firstPacket) * samplesPerPacket) >>> 0;
      // Marker: RFC 3640 §3.2.1 sets it on every packet ending an AU (every AAC packet here);
      // RFC 3551 §4.1 on the first packet of a talkspurt (the first G.711 packet of the stream).
      const marker = format.codec === 'AAC' || first;
      const packet = rtpPacket(format.payloadType, a.seq, timestamp, a.ssrc, marker, payload);
      a.seq = (a.seq + 1) & 0xffff;
      const sr = this.#count(a, a.ssrc, [packet], timestamp, captureMs);
      this.#send(c, a.dest, [packet], sr);
    }
  }

  #queued(c: DeliveryTarget, dest: TrackDest): number {
    return dest.kind === 'udp' ? (this.#opts.udp()?.queuedBytes ?? 0) : c.socket.writableLength;
  }

  /**
   * Counts what a track sent and, once per second, builds its RTCP sender report. Every track's report maps
   * the RTP timestamp of what was just sent to that media's capture time on the camera's one clock, so a
   * receiver lines audio and video up exactly (RFC 3550 §6.4.1: the NTP and RTP timestamps of one instant).
   */
  #count(t: SrCounters, ssrc: number, packets: Buffer[], rtpTimestamp: number, captureMs: number): Buffer | undefined {
    for (const p of packets) {
      t.packets++;
      t.octets += p.length - 12; // payload octets only (RFC 3550 §6.4.1)
    }
    const now = performance.now();
    if (t.lastSrAt !== undefined && now - t.lastSrAt < SR_INTERVAL_MS) return undefined;
    t.lastSrAt = now;
    const { packets: packetCount, octets: octetCount } = t;
    return buildSenderReport({ ssrc, wallClockMs: captureMs, rtpTimestamp, packetCount, octetCount, cname: CNAME });
  }

  /** RTP (and a sender report, sent first so a receiver can place the first packet already) to a track. */
  #send(c: DeliveryTarget, dest: TrackDest, packets: Buffer[], sr: Buffer | undefined): void {
    if (dest.kind === 'udp') {
      if (sr) this.#opts.udp()?.sendRtcp(sr, dest.address, dest.rtcpPort);
      this.#opts.udp()?.sendRtp(packets, dest.address, dest.rtpPort);
      return;
    }
    const framed: Buffer[] = [];
    if (sr) framed.push(interleavedHeader(dest.channel + 1, sr.length), sr);
    for (const p of packets) framed.push(interleavedHeader(dest.channel, p.length), p);
    c.socket.write(Buffer.concat(framed));
  }
}
