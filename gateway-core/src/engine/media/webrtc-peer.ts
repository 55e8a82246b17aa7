import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RTCPeerConnection, RTCSessionDescription, RTCRtpTransceiver } from 'werift';
import type { H264AccessUnit } from '../../rtsp/index.js';
import { CamgateError, defaultLogger, type Logger } from '../../util/index.js';
import { isAccessUnit, type ReplayedAccessUnit } from './access-unit.js';
import { GopCache } from './gop-cache.js';
import {
  assertSdp,
  parseH264Payloads,
  restrictVideoPayloads,
  selectH264Payload,
  videoSection,
  type H264Payload,
} from './h264-sdp.js';
import type { RemoteCandidate } from './ice-candidate.js';
import { IceTrickle, kurentoIceState, type IceCandidateInfo } from './ice-trickle.js';
import { DtlsSrtpSink } from './dtls-srtp-sink.js';
import { feedbackListener } from './rtcp-feedback.js';
import { VideoWriter } from './video-writer.js';
import type { AudioFrame, ViewerAudioCodec } from './audio-codecs.js';
import { SyncAnchor, ViewerClock } from './lip-sync.js';
import { oneMediaStream, PeerAudio } from './webrtc-audio.js';
import { buildPeerConfig, OFFER_H264 } from './werift-config.js';
import { loadWerift, type WeriftModule } from './werift-lazy.js';
import {
  resolveWebRtcPeerOptions,
  type ResolvedWebRtcPeerOptions,
  type WebRtcPeerOptions,
} from './webrtc-peer-options.js';

export interface WebRtcPeerEvents {
  iceCandidate: [IceCandidateInfo];
  iceGatheringDone: [];
  iceComponentState: [{ streamId: number; componentId: number; state: string }];
  connectionState: ['CONNECTED' | 'DISCONNECTED'];
  mediaFlowOut: ['FLOWING' | 'NOT_FLOWING'];
  /** Talk-back: one Opus packet of the viewer's voice (RTP payload, RFC 7587; 48 kHz timestamp). */
  voice: [{ payload: Buffer; timestamp: number }];
}

type Phase = 'NEW' | 'NEGOTIATING' | 'NEGOTIATED' | 'CLOSING' | 'CLOSED';

/**
 * One WebRTC viewer of one camera: sends the camera's H.264 unchanged (no
 * transcoding) over werift. Offer/answer and trickle ICE follow Kurento's
 * WebRtcEndpoint: the answer is returned at once, local candidates are emitted
 * only after `gatherCandidates()`, then `iceGatheringDone`.
 */
export class WebRtcPeer extends EventEmitter<WebRtcPeerEvents> {
  readonly #o: ResolvedWebRtcPeerOptions;
  readonly #log: Logger;
  #phase: Phase = 'NEW';
  #pc: RTCPeerConnection | undefined;
  #payload: H264Payload | undefined;
  #writer: VideoWriter | undefined;
  readonly #gop: GopCache;
  /** One clock for this viewer's audio and video sender reports (lip-sync.ts). */
  readonly #clock = new ViewerClock();
  readonly #audio: PeerAudio;
  #unsubs: (() => void)[] = [];
  /** setLocalDescription runs in the background (werift awaits gathering in it). */
  #sld: Promise<void> | undefined;
  readonly #ice: IceTrickle;
  #connected = false;
  #flowing = false;
  #lastSentAt = 0;
  #lastReplayAt = -Infinity;
  #flowTimer: NodeJS.Timeout | undefined;
  #closePromise: Promise<void> | undefined;

  constructor(opts: WebRtcPeerOptions) {
    super();
    this.#o = resolveWebRtcPeerOptions(opts);
    this.#log = opts.logger ?? defaultLogger('engine:webrtc');
    this.#gop = new GopCache(this.#o.gopMaxBytes);
    this.#audio = new PeerAudio(this.#clock, this.#log);
    // Talk-back (docs/engine.md "Talking back"): the viewer's voice, for a WebRtcEndpoint connected into a player.
    this.#audio.onVoice = (payload, timestamp) => this.emit('voice', { payload, timestamp });
    const hooks = {
      candidate: (c: IceCandidateInfo) => this.emit('iceCandidate', c),
      gatheringDone: () => this.emit('iceGatheringDone'),
      open: () => this.#phase !== 'CLOSED',
    };
    this.#ice = new IceTrickle(hooks, this.#log, this.#o.interfaceAddress);
  }

  /** The audio codecs this viewer takes (empty: no audio section, or none of ours), after negotiation. */
  get audioCodecs(): ViewerAudioCodec[] {
    return this.#audio.accepted;
  }

  /** The werift configuration used (after negotiation started), for inspection. */
  get peerConfig(): RTCPeerConnection['config'] | undefined {
    return this.#pc?.config;
  }

  /** The H.264 payload negotiated (after processOffer/generateOffer). */
  get payload(): H264Payload | undefined {
    return this.#payload ? { ...this.#payload } : undefined;
  }

  /** Answers a viewer's offer (which must accept H.264 packetization-mode=1 video). */
  async processOffer(sdp: string): Promise<string> {
    assertSdp(sdp, 'offer');
    this.#enter();
    const payload = selectH264Payload(parseH264Payloads(sdp), this.#o.profileLevelId);
    if (/^a=sendonly\r?$/m.test(videoSection(sdp))) {
      throw this.#fail(
        new CamgateError('CAMGATE_ENGINE_SDP', 'the offer wants to send video only; the engine sends video'),
      );
    }
    const pc = this.#create(await this.#werift(), payload);
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: restrictVideoPayloads(sdp, payload.payloadType) });
      const t = pc.getTransceivers().find((x) => x.kind === 'video');
      if (!t) throw new CamgateError('CAMGATE_ENGINE_SDP', 'the offer has no video section');
      t.setDirection('sendonly');
      this.#attach(t);
      this.#audio.answerOffer(
        pc.getTransceivers().find((x) => x.kind === 'audio'),
        sdp,
      );
      oneMediaStream(pc);
      const answer = await pc.createAnswer();
      this.#audio.negotiated(answer.sdp, true);
      this.#startLocal(pc, answer);
      this.#flushRemote();
      return answer.sdp;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** Makes an offer (sendonly H.264 42e01f, mode 1) for a viewer that answers. */
  async generateOffer(): Promise<string> {
    this.#enter();
    const pc = this.#create(await this.#werift(), OFFER_H264);
    try {
      const t = pc.addTransceiver('video', { direction: 'sendonly' });
      this.#attach(t);
      this.#audio.addToOffer((kind) => pc.addTransceiver(kind, { direction: 'sendonly' }));
      oneMediaStream(pc);
      const offer = await pc.createOffer();
      this.#startLocal(pc, offer);
      return offer.sdp;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** Applies the viewer's answer to our offer. */
  async processAnswer(sdp: string): Promise<void> {
    assertSdp(sdp, 'answer');
    const pc = this.#pc;
    if (!pc || this.#phase !== 'NEGOTIATING' || this.#sld === undefined || pc.signalingState === 'stable') {
      throw new CamgateError('CAMGATE_ENGINE_STATE', 'processAnswer needs a pending offer from generateOffer');
    }
    try {
      await this.#sld;
      if (!/^a=rtpmap:\d+ H264\/90000/im.test(sdp)) {
        throw new CamgateError('CAMGATE_ENGINE_NO_H264', 'the answer accepts no H.264 payload');
      }
      await pc.setRemoteDescription({ type: 'answer', sdp });
      this.#audio.negotiated(sdp, false);
      this.#phase = 'NEGOTIATED';
      this.#flushRemote();
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** Starts emitting local candidates (Kurento trickle semantics); `iceGatheringDone` follows the last one. */
  async gatherCandidates(): Promise<void> {
    if (this.#phase === 'CLOSING' || this.#phase === 'CLOSED') {
      throw new CamgateError('CAMGATE_ENGINE_STATE', 'the WebRTC peer is closed');
    }
    this.#ice.gather();
  }

  /** Adds one remote candidate. `.local` (mDNS) candidates are dropped; see README.md in this folder. */
  async addIceCandidate(c: RemoteCandidate): Promise<void> {
    if (this.#phase === 'CLOSING' || this.#phase === 'CLOSED') {
      throw new CamgateError('CAMGATE_ENGINE_STATE', 'the WebRTC peer is closed');
    }
    await this.#ice.remote(c, this.#pc);
  }

  /** Sends one access unit (live or replayed) to this viewer; non-IDR units before the first IDR are dropped. */
  feed(au: ReplayedAccessUnit): void {
    if (this.#phase === 'CLOSING' || this.#phase === 'CLOSED') return;
    if (!isAccessUnit(au)) {
      this.#log.debug('feed: ignored something that is not an H.264 access unit');
      return;
    }
    if (!au.keyframe && this.#gop.length === 0) return; // undecodable without its IDR
    const unit = this.#gop.push(au);
    if (this.#connected) this.#send(unit, au.replay === true);
  }

  /** Sends one audio frame (a source's `subscribeAudio` sink, `accept: audioCodecs`); dropped before DTLS is up. */
  feedAudio(frame: AudioFrame): void {
    if (this.#phase === 'CLOSING' || this.#phase === 'CLOSED') return;
    this.#audio.write(frame, this.#connected);
  }

  /**
   * Forgets the cached GOP: the camera's stream ended or stalled, and a keyframe request
   * answered from it would show a picture from before the outage (issue 11). Until the
   * next IDR arrives, nothing is sent.
   */
  dropCache(): void {
    this.#gop.reset();
  }

  /** Frees the connection, its sockets and timers. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#phase = 'CLOSING';
    if (this.#flowTimer) clearInterval(this.#flowTimer);
    this.#flowTimer = undefined;
    for (const u of this.#unsubs) {
      try {
        u();
      } catch {
        /* one failing unsubscribe must not leak the rest */
      }
    }
    this.#unsubs = [];
    this.#gop.reset();
    this.#writer?.close();
    this.#audio.close();
    this.#ice.clear();
    const pc = this.#pc;
    if (pc) {
      try {
        await this.#sld;
      } catch {
        /* already logged */
      }
      try {
        await pc.close();
      } catch (err) {
        this.#log.warn('closing the peer connection failed', { err });
      }
    }
    if (this.#connected) {
      this.#connected = false;
      this.emit('connectionState', 'DISCONNECTED');
    }
    this.#phase = 'CLOSED';
  }

  #enter(): void {
    if (this.#phase !== 'NEW') {
      throw new CamgateError(
        'CAMGATE_ENGINE_STATE',
        this.#phase === 'CLOSED' || this.#phase === 'CLOSING'
          ? 'the WebRTC peer is closed'
          : 'the WebRTC peer was already negotiated (renegotiation is not supported)',
      );
    }
    this.#phase = 'NEGOTIATING';
  }

  #fail(err: unknown): CamgateError {
    const e =
      err instanceof CamgateError
        ? err
        : new CamgateError('CAMGATE_ENGINE_SDP', `SDP negotiation failed: ${(err as Error)?.message ?? String(err)}`, {
            cause: err,
          });
    this.#log.warn('negotiation failed', { err: e });
    void this.close();
    return e;
  }

  /** werift, loaded on the first negotiation (werift-lazy.ts); the peer may be closed meanwhile. */
  async #werift(): Promise<WeriftModule> {
    const w = await loadWerift();
    if (this.#phase !== 'NEGOTIATING') throw new CamgateError('CAMGATE_ENGINE_STATE', 'the WebRTC peer is closed');
    return w;
  }

  #create(w: WeriftModule, payload: H264Payload): RTCPeerConnection {
    this.#payload = payload;
    const pc = new w.RTCPeerConnection(buildPeerConfig(w, this.#o, payload));
    this.#pc = pc;
    const subs = [
      pc.onIceCandidate.subscribe((c) => this.#ice.local(c)),
      pc.iceConnectionStateChange.subscribe((s) => {
        this.emit('iceComponentState', { streamId: 1, componentId: 1, state: kurentoIceState(s) });
      }),
      pc.connectionStateChange.subscribe((s) => this.#onConnectionState(s)),
    ];
    for (const s of subs) this.#unsubs.push(() => s.unSubscribe());
    return pc;
  }

  #attach(t: RTCRtpTransceiver): void {
    const sender = t.sender;
    this.#writer = new VideoWriter(new DtlsSrtpSink(sender, this.#log), {
      payloadType: this.#payload!.payloadType,
      mtu: this.#o.mtu,
      pacing: {
        bitrate: this.#o.pacingBitrate,
        burstBytes: this.#o.pacingBurstBytes,
        maxQueueBytes: 2 * this.#o.gopMaxBytes, // a whole GOP replay fits, with room for live units behind it
      },
      logger: this.#log,
      anchor: new SyncAnchor(this.#clock),
    });
    // werift's router hands payload-specific feedback to whichever of its tables knows the
    // packet's *sender* SSRC first, which for a viewer that also has a (recvonly) sender is
    // our receiver, not our sender. So both are watched, and the media SSRC decides.
    const writer = this.#writer;
    const onRtcp = feedbackListener(sender.ssrc, {
      nack: (lost) => writer.retransmit(lost),
      keyframe: (kind) => this.#onKeyframeRequest(kind),
      report: (lsr, dlsr) => writer.receiverReport(lsr, dlsr),
    });
    const a = sender.onRtcp.subscribe(onRtcp);
    const b = t.receiver.onRtcp.subscribe(onRtcp);
    this.#unsubs.push(
      () => a.unSubscribe(),
      () => b.unSubscribe(),
    );
  }

  #startLocal(pc: RTCPeerConnection, desc: RTCSessionDescription): void {
    // Not awaited: werift's setLocalDescription waits for candidate gathering, which can
    // take seconds with STUN/TURN servers. Kurento answers at once and trickles instead.
    this.#sld = pc.setLocalDescription(desc).then(
      () => {
        if (desc.type === 'answer') this.#phase = 'NEGOTIATED';
        this.#ice.localDone();
      },
      (err: unknown) => {
        this.#log.warn('setLocalDescription failed', { err });
        throw err;
      },
    );
    this.#sld.catch(() => undefined); // observed by close() and processAnswer()
  }

  #flushRemote(): void {
    if (this.#pc) this.#ice.flush(this.#pc);
  }

  #onConnectionState(s: string): void {
    if (this.#phase === 'CLOSING' || this.#phase === 'CLOSED') return;
    if (s === 'connected' && !this.#connected) {
      this.#connected = true;
      this.emit('connectionState', 'CONNECTED');
      this.#flowTimer ??= setInterval(() => this.#checkFlow(), Math.max(50, this.#o.flowTimeoutMs / 4));
      this.#flowTimer.unref();
      // Frames fed before DTLS completed were cached, not sent: start with the cached GOP.
      this.#replay();
    } else if ((s === 'disconnected' || s === 'failed' || s === 'closed') && this.#connected) {
      this.#connected = false;
      this.emit('connectionState', 'DISCONNECTED');
    }
  }

  #onKeyframeRequest(kind: 'PLI' | 'FIR'): void {
    const now = performance.now();
    if (now - this.#lastReplayAt < this.#o.keyframeReplayIntervalMs) {
      this.#log.debug('keyframe request rate-limited', { kind });
      return;
    }
    this.#log.debug('keyframe request answered from the GOP cache', { kind, aus: this.#gop.length });
    this.#lastReplayAt = now;
    this.#replay();
  }

  /** Sends the cached GOP (on connect, and for PLI/FIR; only the latter are rate-limited). */
  #replay(): void {
    if (!this.#connected) return;
    for (const au of this.#gop.snapshot()) this.#send(au, true);
  }

  #send(au: H264AccessUnit, replay: boolean): void {
    const writer = this.#writer;
    if (!writer || !writer.write(au, replay)) return;
    this.#lastSentAt = performance.now();
    if (!this.#flowing) {
      this.#flowing = true;
      this.emit('mediaFlowOut', 'FLOWING');
    }
  }

  #checkFlow(): void {
    if (this.#flowing && performance.now() - this.#lastSentAt >= this.#o.flowTimeoutMs) {
      this.#flowing = false;
      this.emit('mediaFlowOut', 'NOT_FLOWING');
    }
  }
}
