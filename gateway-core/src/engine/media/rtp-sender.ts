/**
 * One plain-RTP / SDES-SRTP video stream to one receiver (an Apple device for
 * the Homebridge plugin): H.264 packetized per RFC 6184, protected per
 * RFC 3711, sent over UDP to the address and port the remote description
 * names. No ICE, no DTLS: the keys come from the caller (SDES, RFC 4568).
 *
 * SECURITY: whoever may call the engine can make it send UDP video to any
 * unicast address and port it names (that is what an RtpEndpoint is for).
 * Multicast, broadcast and unspecified addresses are refused; anything finer
 * (a target allow-list) belongs in the caller's policy — the gateway's
 * Kurento policy decides whether the hub may create RtpEndpoints at all.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { H264Packetizer, type H264AccessUnit } from '../../rtsp/index.js';
import { CamgateError, defaultLogger, isLoopbackHost, type Logger } from '../../util/index.js';
import { isAccessUnit, type ReplayedAccessUnit } from './access-unit.js';
import { FALLBACK_PROFILE_LEVEL_ID } from './h264-sdp.js';
import { RtpAudioChannel, type RtpAudioStats, type VoicePacket } from './rtp-audio.js';
import { DEFAULT_AUDIO_PTIME_MS, buildLocalAudio, parseRemoteAudio, type Direction } from './rtp-audio-sdp.js';
import { buildLocalRtp, parseRemoteRtp, type RemoteRtpDescription } from './rtp-sdp.js';
import { SrtpProtector, type SrtpSuite } from './srtp.js';
import { TimestampRebaser } from './timestamp-rebaser.js';

export interface RtpSenderOptions {
  /** SDES master key+salt and suite; without it the stream is plain RTP/AVP. */
  crypto?: { suite: SrtpSuite; keyAndSalt: Buffer };
  /** Send over IPv6 (Kurento's `useIpv6`). */
  ipv6?: boolean;
  /** Local address to bind and announce; default: any address, announced as the first fitting interface. */
  interfaceAddress?: string;
  /** Largest (S)RTP packet in bytes, header and tag included (Kurento BaseRtpEndpoint `mtu`). */
  mtu?: number;
  /** H.264 payload type offered by `generateOffer` (the answer's choice wins). */
  offerPayloadType?: number;
  /**
   * Offer an Opus audio section besides the video (Kurento OfferOptions `offerToReceiveAudio`,
   * default true): the camera's sound, and the remote's voice when it answers `sendrecv`.
   */
  audio?: boolean;
  /** Opus payload type offered by `generateOffer` (HomeKit answers with its own, usually 110). */
  offerAudioPayloadType?: number;
  logger?: Logger;
}

export const DEFAULT_RTP_SENDER_OPTIONS = {
  mtu: 1200, // bytes: KMS's BaseRtpEndpoint default
  offerPayloadType: 96, // first dynamic payload type (RFC 3551 §6)
  offerAudioPayloadType: 111, // the Opus payload type browsers use; any dynamic one would do
} as const;

export const RTP_SENDER_MTU_RANGE = { min: 128, max: 65_507 } as const; // bytes; max = largest IPv4 UDP payload

export interface RtpSenderEvents {
  mediaFlowOut: ['FLOWING' | 'NOT_FLOWING'];
  /** The remote's voice (Opus), when its audio section sends and `setTalk(true)` allowed it. */
  voice: [VoicePacket];
}

export interface RtpSenderStats {
  packetsSent: number;
  bytesSent: number;
  sendErrors: number;
  /** Datagrams received on the local port (RTCP from the remote); they are counted and dropped. */
  packetsReceived: number;
}

const RTP_HEADER_BYTES = 12;

type Phase = 'NEW' | 'OFFERED' | 'NEGOTIATED' | 'CLOSED';

export class RtpSender extends EventEmitter<RtpSenderEvents> {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  readonly #opts: RtpSenderOptions;
  readonly #log: Logger;
  readonly #protector: SrtpProtector | undefined;
  readonly #rebaser = new TimestampRebaser();
  readonly #sessionId = String(randomInt(1, 2 ** 47));
  readonly #stats: RtpSenderStats = { packetsSent: 0, bytesSent: 0, sendErrors: 0, packetsReceived: 0 };
  #mtu: number;
  #socket: dgram.Socket | undefined;
  #phase: Phase = 'NEW';
  #version = 0;
  #remote: RemoteRtpDescription | undefined;
  #packetizer: H264Packetizer | undefined;
  #started = false;
  #flowing = false;
  #audio: RtpAudioChannel | undefined;
  /** Whether the audio channel is part of the negotiated session. */
  #audioNegotiated = false;
  #talk = false;

  constructor(opts: RtpSenderOptions = {}) {
    super();
    if (opts === null || typeof opts !== 'object') throw new TypeError('RtpSender: options must be an object');
    if (opts.interfaceAddress !== undefined && isIP(opts.interfaceAddress) === 0) {
      throw new TypeError(`RtpSender: interfaceAddress must be an IP literal, got ${String(opts.interfaceAddress)}`);
    }
    this.#opts = opts;
    this.#log = opts.logger ?? defaultLogger('engine:rtp');
    this.#mtu = RtpSender.checkMtu(opts.mtu ?? DEFAULT_RTP_SENDER_OPTIONS.mtu);
    this.#protector = opts.crypto ? new SrtpProtector(opts.crypto.suite, opts.crypto.keyAndSalt) : undefined;
  }

  static checkMtu(mtu: unknown): number {
    if (
      typeof mtu !== 'number' ||
      !Number.isInteger(mtu) ||
      mtu < RTP_SENDER_MTU_RANGE.min ||
      mtu > RTP_SENDER_MTU_RANGE.max
    ) {
      throw new RangeError(
        `RtpSender: mtu must be an integer ${RTP_SENDER_MTU_RANGE.min}..${RTP_SENDER_MTU_RANGE.max} bytes, got ${String(mtu)}`,
      );
    }
    return mtu;
  }

  get stats(): RtpSenderStats {
    return { ...this.#stats };
  }

  get mtu(): number {
    return this.#mtu;
  }

  /** Takes effect from the next access unit. */
  setMtu(mtu: number): void {
    this.#mtu = RtpSender.checkMtu(mtu);
    if (this.#packetizer) this.#packetizer = this.#makePacketizer(this.#packetizer.payloadType, this.#packetizer);
  }

  /** Where the remote receives video, once negotiated. */
  get remote(): Readonly<RemoteRtpDescription> | undefined {
    return this.#remote;
  }

  get proto(): string {
    return this.#protector ? 'RTP/SAVP' : 'RTP/AVP';
  }

  /** The negotiated audio stream (Opus), if any: where it goes and at what clock and packet time. */
  get audio(): { clockRate: number; ptimeMs: number; direction: Direction; ssrc: number } | undefined {
    const r = this.#audioNegotiated ? this.#audio?.remote : undefined;
    return r
      ? { clockRate: r.clockRate, ptimeMs: r.ptimeMs, direction: r.direction, ssrc: this.#audio!.ssrc }
      : undefined;
  }

  get audioStats(): RtpAudioStats | undefined {
    return this.#audio?.stats;
  }

  /**
   * Whether the remote's voice is taken (talk-back): the caller decides (plugin option, camera back
   * channel); the remote's SDP must also send audio. Off by default.
   */
  setTalk(enabled: boolean): void {
    this.#talk = enabled;
    const remote = this.#audio?.remote;
    if (remote && this.#audioNegotiated) this.#audio!.setRemote(remote, enabled);
  }

  /** Sends one Opus packet (RTP timestamp on the 48 kHz clock) when audio was negotiated. */
  feedOpus(packet: Buffer, timestamp48k: number): void {
    if (this.#phase === 'NEGOTIATED' && this.#audioNegotiated) this.#audio?.feedOpus(packet, timestamp48k);
  }

  async generateOffer(): Promise<string> {
    if (this.#phase !== 'NEW') throw new CamgateError('CAMGATE_ENGINE_STATE', 'an offer was already made');
    await this.#bind(undefined);
    if (this.#opts.audio !== false) await this.#bindAudio(this.#opts.ipv6 === true);
    this.#phase = 'OFFERED';
    const pt = this.#opts.offerPayloadType ?? DEFAULT_RTP_SENDER_OPTIONS.offerPayloadType;
    const audioPt = this.#opts.offerAudioPayloadType ?? DEFAULT_RTP_SENDER_OPTIONS.offerAudioPayloadType;
    return this.#describe(pt, `packetization-mode=1;profile-level-id=${FALLBACK_PROFILE_LEVEL_ID}`, {
      payloadType: audioPt,
      clockRate: 48_000, // RFC 7587 §7: an offer names 48 kHz; the answer may name HomeKit's rate
      ptimeMs: DEFAULT_AUDIO_PTIME_MS,
    });
  }

  async processOffer(sdp: string): Promise<string> {
    if (this.#phase !== 'NEW') throw new CamgateError('CAMGATE_ENGINE_STATE', 'this endpoint is already negotiated');
    const remote = parseRemoteRtp(sdp, 'offer', this.#protector !== undefined);
    const audio = this.#opts.audio !== false ? this.#usableAudio(sdp, 'offer') : undefined;
    await this.#bind(remote);
    if (audio) await this.#bindAudio(remote.family === 6);
    this.#accept(remote);
    if (!audio) return this.#describe(remote.payload.payloadType, remote.payload.fmtp);
    this.#acceptAudio(sdp, 'offer');
    return this.#describe(remote.payload.payloadType, remote.payload.fmtp, {
      payloadType: audio.payloadType,
      clockRate: audio.clockRate,
      ptimeMs: audio.ptimeMs,
    });
  }

  async processAnswer(sdp: string): Promise<void> {
    if (this.#phase !== 'OFFERED') throw new CamgateError('CAMGATE_ENGINE_STATE', 'no offer is waiting for an answer');
    const remote = parseRemoteRtp(sdp, 'answer', this.#protector !== undefined);
    if (this.#opts.ipv6 === true ? remote.family !== 6 : remote.family !== 4) {
      throw new CamgateError('CAMGATE_ENGINE_SDP', `answer: the address family does not match the offer`);
    }
    const audio = this.#audio ? this.#usableAudio(sdp, 'answer') : undefined;
    if (audio && audio.family !== remote.family) {
      throw new CamgateError('CAMGATE_ENGINE_SDP', 'answer: the audio address family does not match the video');
    }
    this.#accept(remote);
    if (audio) this.#acceptAudio(sdp, 'answer');
  }

  /**
   * The remote's Opus section, or undefined when it has none or one the engine cannot send to (another
   * codec, a bad address): the video still plays, as with KMS when audio fails to negotiate.
   */
  #usableAudio(sdp: string, what: string): ReturnType<typeof parseRemoteAudio> {
    try {
      return parseRemoteAudio(sdp, what, this.#protector !== undefined);
    } catch (err) {
      this.#log.warn('audio not negotiated; video only', { err });
      return undefined;
    }
  }

  /** Takes the remote's audio section (already validated by the caller's parse). */
  #acceptAudio(sdp: string, what: string): void {
    const audio = parseRemoteAudio(sdp, what, this.#protector !== undefined)!;
    this.#audio!.setRemote(audio, this.#talk);
    this.#audioNegotiated = true;
  }

  async #bindAudio(ipv6: boolean): Promise<void> {
    const channel = new RtpAudioChannel({
      ...(this.#opts.crypto ? { crypto: this.#opts.crypto } : {}),
      ipv6,
      ...(this.#opts.interfaceAddress ? { interfaceAddress: this.#opts.interfaceAddress } : {}),
      logger: this.#log,
    });
    channel.on('voice', (v) => this.emit('voice', v));
    this.#audio = channel;
    await channel.bind();
  }

  #accept(remote: RemoteRtpDescription): void {
    if (remote.direction === 'sendonly' || remote.direction === 'inactive') {
      throw new CamgateError('CAMGATE_ENGINE_SDP', `the remote is ${remote.direction}; the engine only sends video`);
    }
    this.#remote = remote;
    this.#packetizer = this.#makePacketizer(remote.payload.payloadType);
    this.#phase = 'NEGOTIATED';
  }

  #makePacketizer(payloadType: number, previous?: H264Packetizer): H264Packetizer {
    const tag = this.#protector?.tagLength ?? 0;
    return new H264Packetizer({
      payloadType,
      ssrc: this.ssrc,
      // The packetizer's budget is payload only; the MTU covers header and SRTP tag too.
      mtu: this.#mtu - RTP_HEADER_BYTES - tag,
      ...(previous ? { initialSequence: previous.nextSequence } : {}),
    });
  }

  #describe(
    payloadType: number,
    fmtp: string,
    audio?: { payloadType: number; clockRate: number; ptimeMs: number },
  ): string {
    const socket = this.#socket!;
    const channel = this.#audio;
    return buildLocalRtp({
      sessionId: this.#sessionId,
      version: this.#version++,
      address: this.#announcedAddress(),
      port: socket.address().port,
      proto: this.proto,
      payloadType,
      fmtp,
      ssrc: this.ssrc,
      ...(this.#opts.crypto ? { crypto: this.#opts.crypto } : {}),
      ...(audio && channel
        ? {
            audio: buildLocalAudio({
              port: channel.port,
              proto: this.proto,
              ...audio,
              // The engine sends the camera's sound and may take the remote's voice (talk-back).
              direction: 'sendrecv',
              ssrc: channel.ssrc,
              ...(this.#opts.crypto ? { crypto: this.#opts.crypto } : {}),
            }),
          }
        : {}),
    });
  }

  #announcedAddress(): string {
    const bound = this.#socket!.address().address;
    if (bound !== '0.0.0.0' && bound !== '::') return bound;
    const want = this.#opts.ipv6 === true ? 'IPv6' : 'IPv4';
    // A loopback receiver sees the engine on loopback; others on the first external interface.
    if (this.#remote && isLoopbackHost(this.#remote.address)) {
      return this.#remote.address === '::1' ? '::1' : '127.0.0.1';
    }
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) if (!i.internal && i.family === want) return i.address;
    }
    return want === 'IPv6' ? '::1' : '127.0.0.1';
  }

  async #bind(remote: RemoteRtpDescription | undefined): Promise<void> {
    const ipv6 = remote ? remote.family === 6 : this.#opts.ipv6 === true;
    if (remote) this.#remote = remote; // for the announced address only; #accept validates it
    const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4', ipv6Only: ipv6 });
    this.#socket = socket;
    socket.on('message', () => {
      this.#stats.packetsReceived++; // SRTCP receiver reports: not needed to send, dropped unread
    });
    socket.on('error', (err) => this.#log.warn('RTP socket error', { err }));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: this.#opts.interfaceAddress ?? (ipv6 ? '::' : '0.0.0.0') }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }

  /** Sends one access unit (the first sent is always a keyframe: earlier units are dropped). */
  feed(au: ReplayedAccessUnit): void {
    const socket = this.#socket;
    const packetizer = this.#packetizer;
    const remote = this.#remote;
    if (this.#phase !== 'NEGOTIATED' || !socket || !packetizer || !remote) return;
    if (!isAccessUnit(au)) return;
    if (!this.#started && !au.keyframe) return; // undecodable without its IDR
    this.#started = true;
    const timestamp = this.#rebaser.map(au.timestamp, au.replay === true);
    const unit: H264AccessUnit = { nalus: au.nalus, timestamp, keyframe: au.keyframe };
    for (const rtp of packetizer.packetize(unit)) {
      const pkt = this.#protector ? this.#protector.protect(rtp) : rtp;
      this.#stats.packetsSent++;
      this.#stats.bytesSent += pkt.length;
      socket.send(pkt, remote.port, remote.address, (err) => {
        if (err) this.#stats.sendErrors++;
      });
    }
    if (!this.#flowing) {
      this.#flowing = true;
      this.emit('mediaFlowOut', 'FLOWING');
    }
  }

  /** Stops sending and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#phase === 'CLOSED') return;
    this.#phase = 'CLOSED';
    try {
      await this.#audio?.close();
    } catch (err) {
      this.#log.debug('closing the audio channel failed', { err });
    }
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) {
      try {
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      } catch (err) {
        this.#log.debug('RTP socket was not open', { err }); // closed while still binding
      }
    }
    if (this.#flowing) {
      this.#flowing = false;
      this.emit('mediaFlowOut', 'NOT_FLOWING');
    }
  }
}
