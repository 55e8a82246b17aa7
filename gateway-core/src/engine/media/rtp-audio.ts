/**
 * The RtpEndpoint's audio: one UDP port carrying Opus RTP and RTCP both ways
 * (RFC 5761), protected with the SDES key (RFC 3711) — what HomeKit
 * controllers use for a camera's sound and for two-way audio.
 *
 * Sending: Opus packets come in with 48 kHz timestamps (RFC 7587 §4.1, the
 * clock of the engine's shared Opus path) and go out on the clock the
 * receiver asked for (HomeKit: its selected sample rate, 16 or 24 kHz) —
 * the packets are not re-encoded, their timestamps are rescaled, because an
 * Opus decoder decodes any packet at any output rate (RFC 6716 §2). When the
 * receiver asks for a longer packet time than the packets carry (40 or 60 ms
 * from 20 ms frames), consecutive frames are joined into one packet
 * (RFC 6716 §3.2.5), which is lossless. A sender report (RFC 3550 §6.4.1)
 * goes out every RTCP interval.
 *
 * Receiving: SRTP from the remote's address only, authenticated and
 * decrypted, Opus of the negotiated payload type, emitted as `voice` when
 * the endpoint takes talk-back; everything else is counted and dropped.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { buildRtpPacket, parseRtpHeader } from '../../rtsp/index.js';
import { defaultLogger, type Logger } from '../../util/index.js';
import type { RemoteAudioDescription } from './rtp-audio-sdp.js';
import { buildSenderReport, isRtcp, joinOpusFrames, readOpusToc } from './rtp-opus.js';
import { SrtpProtector, type SrtpSuite } from './srtp.js';
import { SrtcpContext, SrtpUnprotector } from './srtp-unprotector.js';

export interface RtpAudioChannelOptions {
  crypto?: { suite: SrtpSuite; keyAndSalt: Buffer };
  ipv6?: boolean;
  /** Local address to bind; default any. */
  interfaceAddress?: string;
  /** Sender report interval in ms (HomeKit's selected RTCP interval). */
  rtcpIntervalMs?: number;
  logger?: Logger;
}

export const DEFAULT_RTP_AUDIO_OPTIONS = {
  rtcpIntervalMs: 5000, // 5 s: RFC 3550 §6.2's minimum interval, HomeKit's usual audio choice
  maxDatagramBytes: 2048, // bytes: an Opus packet is at most 1275 bytes per frame (RFC 6716 §3.4)
} as const;

/** A packet of the remote's voice (talk-back). */
export interface VoicePacket {
  /** One Opus packet (the RTP payload). */
  payload: Buffer;
  /** Its RTP timestamp rescaled to 48 kHz (RFC 7587's clock, the talk-back pipeline's). */
  timestamp48k: number;
  ssrc: number;
}

export interface RtpAudioStats {
  packetsSent: number;
  bytesSent: number;
  sendErrors: number;
  reportsSent: number;
  voicePackets: number;
  rtcpReceived: number;
  /** Datagrams dropped: from another address, too large, failing SRTP, not Opus. */
  dropped: number;
}

export interface RtpAudioChannelEvents {
  voice: [VoicePacket];
}

export class RtpAudioChannel extends EventEmitter<RtpAudioChannelEvents> {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  readonly #opts: RtpAudioChannelOptions;
  readonly #log: Logger;
  readonly #protector: SrtpProtector | undefined;
  readonly #srtcp: SrtcpContext | undefined;
  #unprotector: SrtpUnprotector | undefined;
  readonly #stats: RtpAudioStats = {
    packetsSent: 0,
    bytesSent: 0,
    sendErrors: 0,
    reportsSent: 0,
    voicePackets: 0,
    rtcpReceived: 0,
    dropped: 0,
  };
  #socket: dgram.Socket | undefined;
  #remote: RemoteAudioDescription | undefined;
  #receiving = false;
  #seq = randomBytes(2).readUInt16BE(0);
  readonly #tsBase = randomBytes(4).readUInt32BE(0);
  /** Input timestamp (48 kHz) of the first packet, and the output samples elapsed since (unbounded). */
  #lastIn: number | undefined;
  #outSamples = 0;
  #lastOut = 0;
  #lastSentAt = 0;
  /** Frames waiting to be joined into one packet of the remote's packet time. */
  #pending: { packet: Buffer; samples48k: number; timestamp: number }[] = [];
  #pendingSamples = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: RtpAudioChannelOptions = {}) {
    super();
    const interval = opts.rtcpIntervalMs ?? DEFAULT_RTP_AUDIO_OPTIONS.rtcpIntervalMs;
    if (!Number.isFinite(interval) || interval < 100 || interval > 60_000) {
      throw new RangeError(`RtpAudioChannel: rtcpIntervalMs must be 100..60000 ms, got ${String(interval)}`);
    }
    this.#opts = { ...opts, rtcpIntervalMs: interval };
    this.#log = opts.logger ?? defaultLogger('engine:rtp-audio');
    if (opts.crypto) {
      this.#protector = new SrtpProtector(opts.crypto.suite, opts.crypto.keyAndSalt);
      this.#srtcp = new SrtcpContext(opts.crypto.suite, opts.crypto.keyAndSalt);
    }
  }

  get stats(): RtpAudioStats {
    return { ...this.#stats };
  }

  get port(): number {
    return this.#socket?.address().port ?? 0;
  }

  get remote(): Readonly<RemoteAudioDescription> | undefined {
    return this.#remote;
  }

  async bind(): Promise<number> {
    const ipv6 = this.#opts.ipv6 === true;
    const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4', ipv6Only: ipv6 });
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address));
    socket.on('error', (err) => this.#log.warn('RTP audio socket error', { err }));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: this.#opts.interfaceAddress ?? (ipv6 ? '::' : '0.0.0.0') }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return this.port;
  }

  /**
   * Where to send, and whether the remote's voice is taken (`receive`: the
   * remote sends and talk-back is allowed). The remote's own key, when its
   * description has one, authenticates what it sends; else the shared key.
   */
  setRemote(remote: RemoteAudioDescription, receive: boolean): void {
    this.#remote = remote;
    this.#receiving = receive && (remote.direction === 'sendrecv' || remote.direction === 'sendonly');
    const suite = this.#opts.crypto?.suite;
    if (suite) this.#unprotector = new SrtpUnprotector(suite, remote.remoteKeyAndSalt ?? this.#opts.crypto!.keyAndSalt);
  }

  /** Sends one Opus packet whose RTP timestamp is on the 48 kHz clock. Packets that are not valid Opus are dropped. */
  feedOpus(packet: Buffer, timestamp48k: number): void {
    const remote = this.#remote;
    if (this.#closed || !remote || !this.#socket) return;
    if (remote.direction === 'sendonly' || remote.direction === 'inactive') return; // it takes no audio
    const toc = readOpusToc(packet);
    if (!toc) return;
    const want = (remote.ptimeMs * 48_000) / 1000;
    const joinable = toc.code === 0 && toc.samples48k < want;
    if (this.#pending.length > 0 && (!joinable || packet[0] !== this.#pending[0]!.packet[0])) this.#flush();
    if (!joinable) {
      this.#send(packet, timestamp48k);
      return;
    }
    this.#pending.push({ packet, samples48k: toc.samples48k, timestamp: timestamp48k });
    this.#pendingSamples += toc.samples48k;
    if (this.#pendingSamples + toc.samples48k > want) this.#flush();
  }

  #flush(): void {
    const frames = this.#pending;
    this.#pending = [];
    this.#pendingSamples = 0;
    if (frames.length > 0) this.#send(joinOpusFrames(frames.map((f) => f.packet)), frames[0]!.timestamp);
  }

  #send(payload: Buffer, timestamp48k: number): void {
    const remote = this.#remote!;
    const socket = this.#socket!;
    // Signed 32-bit difference: input timestamps wrap at 2^32 like any RTP clock.
    const delta = this.#lastIn === undefined ? 0 : (timestamp48k - this.#lastIn) | 0;
    this.#lastIn = timestamp48k;
    this.#outSamples += Math.round((delta * remote.clockRate) / 48_000);
    const timestamp = (this.#tsBase + this.#outSamples) >>> 0;
    const first = this.#stats.packetsSent === 0;
    const rtp = buildRtpPacket({
      payloadType: remote.payloadType,
      sequenceNumber: this.#seq,
      timestamp,
      ssrc: this.ssrc,
      marker: first, // RFC 7587 §4.2: set on the first packet of a talkspurt
      payload,
    });
    this.#seq = (this.#seq + 1) & 0xffff;
    const wire = this.#protector ? this.#protector.protect(rtp) : rtp;
    this.#stats.packetsSent++;
    this.#stats.bytesSent += payload.length;
    this.#lastOut = timestamp;
    this.#lastSentAt = Date.now();
    socket.send(wire, remote.port, remote.address, (err) => {
      if (err) this.#stats.sendErrors++;
    });
    if (first) {
      this.#timer = setInterval(() => this.#report(), this.#opts.rtcpIntervalMs);
      this.#timer.unref();
      this.#report();
    }
  }

  #report(): void {
    const remote = this.#remote;
    const socket = this.#socket;
    if (!remote || !socket || this.#closed) return;
    const now = Date.now();
    // The RTP time of "now": the last packet's timestamp advanced by the wall time since (RFC 3550 §6.4.1).
    const rtpNow = (this.#lastOut + Math.round(((now - this.#lastSentAt) * remote.clockRate) / 1000)) >>> 0;
    const sr = buildSenderReport({
      ssrc: this.ssrc,
      wallMs: now,
      rtpTimestamp: rtpNow,
      packets: this.#stats.packetsSent,
      octets: this.#stats.bytesSent,
      cname: 'camgate',
    });
    const wire = this.#srtcp ? this.#srtcp.protect(sr) : sr;
    this.#stats.reportsSent++;
    socket.send(wire, remote.port, remote.address, (err) => {
      if (err) this.#stats.sendErrors++;
    });
  }

  #onDatagram(msg: Buffer, from: string): void {
    const remote = this.#remote;
    // Only the negotiated remote may talk to this port (an IPv4-mapped form counts as the same address).
    if (!remote || (from !== remote.address && from !== `::ffff:${remote.address}`)) {
      this.#stats.dropped++;
      return;
    }
    if (msg.length > DEFAULT_RTP_AUDIO_OPTIONS.maxDatagramBytes) {
      this.#stats.dropped++;
      return;
    }
    try {
      if (isRtcp(msg)) {
        if (this.#srtcp) this.#srtcp.unprotect(msg);
        this.#stats.rtcpReceived++; // receiver reports: counted, not needed to send
        return;
      }
      if (!this.#receiving) {
        this.#stats.dropped++;
        return;
      }
      const rtp = this.#unprotector ? this.#unprotector.unprotect(msg) : msg;
      const header = parseRtpHeader(rtp);
      const payload = header?.payload;
      if (!header || header.payloadType !== remote.payloadType || !payload || !readOpusToc(payload)) {
        this.#stats.dropped++;
        return;
      }
      this.#stats.voicePackets++;
      const timestamp48k = Math.round((header.timestamp * 48_000) / remote.clockRate) >>> 0;
      this.emit('voice', { payload: Buffer.from(payload), timestamp48k, ssrc: header.ssrc });
    } catch {
      this.#stats.dropped++; // failed authentication, replay, malformed: RFC 3711 §3.3 says discard
    }
  }

  /** Stops sending and receiving. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
    const socket = this.#socket;
    this.#socket = undefined;
    this.removeAllListeners('voice');
    if (socket) {
      try {
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      } catch (err) {
        this.#log.debug('RTP audio socket was not open', { err });
      }
    }
  }
}
