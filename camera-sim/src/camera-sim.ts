/**
 * `startCameraSim`: a live H.264 IP camera on loopback for the demo, the
 * media tests and the benchmarks — RTSP with Digest auth, a picture that
 * changes every frame, and optionally the weak services of a cheap DVR.
 *
 * The picture runs on the camera's own clock: frame n is due at
 * start + n / fps, whether or not anyone watches, so IDRs come every
 * `gopSeconds` of wall time and a new viewer waits for the next one, as with
 * a real camera. Pictures are only encoded while a session plays.
 *
 * Sound runs on the same clock (audio packet p is captured from
 * start + p · packet duration), and the RTCP sender reports of both tracks map
 * RTP time to that clock's capture instants, so receivers can line them up.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { CamgateError, defaultLogger, type Logger } from '@camgate/core';
import { findFfmpeg } from './aac-ffmpeg.js';
import { AudioClock } from './audio-clock.js';
import { sampleRateOf, DEFAULT_CAMERA_SIM_AUDIO_OPTIONS } from './audio-options.js';
import { isFlashFrame } from './audio-signal.js';
import { audioFormat, AudioSource, type SimAudioCodec } from './audio-track.js';
import { BackchannelRecorder, type BackchannelRecording } from './backchannel.js';
import { DigestAuthenticator } from './digest-auth.js';
import { H264TestPatternEncoder } from './h264-encoder.js';
import { RtspServer } from './rtsp-server.js';
import { DEFAULT_CAMERA_SIM_OPTIONS, validateCameraSimOptions, type CameraSimOptions } from './camera-sim-options.js';
import { startDvrHttp, startTelnetBanner, type ServiceHandle } from './vulnerable-services.js';

/** Counters of a running simulator. */
export interface CameraSimStats {
  /** RTSP sessions opened (SETUP) in total. */
  readonly sessions: number;
  /** Sessions currently streaming (PLAY until TEARDOWN or disconnect). */
  readonly playing: number;
  /** Pictures encoded so far. */
  readonly framesEncoded: number;
  /** Pictures skipped for viewers that could not keep up (each then waits for the next IDR). */
  readonly framesDropped: number;
  /** Back-channel RTP packets recorded, and dropped (malformed, wrong payload type, too large, not playing). */
  readonly backchannelPackets: number;
  readonly backchannelDropped: number;
}

/** The camera's audio track as announced in its SDP. */
export interface CameraSimAudioInfo {
  readonly codec: SimAudioCodec;
  readonly payloadType: number;
  readonly sampleRate: number;
  readonly toneHz: number;
}

export interface CameraSim {
  /** `rtsp://host:port/path`, without credentials. */
  readonly url: string;
  /** The same URL with `user:password@` (only for the component that holds camera credentials). */
  readonly urlWithCredentials: string;
  readonly port: number;
  readonly httpPort?: number;
  readonly telnetPort?: number;
  /** The UDP ports RTP and RTCP leave from (`server_port`), when UDP is offered and the camera runs. */
  readonly udpPorts?: { rtp: number; rtcp: number };
  readonly stats: CameraSimStats;
  /** The audio track, when `audio` was given. */
  readonly audio?: CameraSimAudioInfo;
  /**
   * What the ONVIF back channel received: mono 16-bit PCM of the last 60 s in arrival order (AAC decoded by
   * FFmpeg here). Rejects with `CAMGATE_CAMERA_SIM_NO_BACKCHANNEL` when the camera has none.
   */
  backchannelRecording(): Promise<BackchannelRecording>;
  /** The shared encoder (frame numbers, SPS/PPS, profile-level-id). */
  readonly encoder: H264TestPatternEncoder;
  /** Drops every connection and refuses new ones (the camera went away). */
  stop(): Promise<void>;
  /** Accepts connections again on the same ports; the first picture is an IDR (the camera restarted). */
  resume(): Promise<void>;
  /**
   * Stops sending video but keeps every connection open and answers RTSP as before: a camera
   * that hangs, or a cable pulled between a switch and the camera while TCP waits. No picture is
   * encoded while frozen (so `encoder.frameNumber` tells which frames a viewer can have seen).
   */
  freeze(): void;
  /** Sends video again after `freeze()`, starting with an IDR. */
  unfreeze(): void;
  /** True between `freeze()` and `unfreeze()`. */
  readonly frozen: boolean;
  /** Stops everything; idempotent. */
  close(): Promise<void>;
}

/** Starts a simulated camera; resolves once every port listens. */
export async function startCameraSim(opts: CameraSimOptions = {}): Promise<CameraSim> {
  validateCameraSimOptions(opts);
  const d = DEFAULT_CAMERA_SIM_OPTIONS;
  const host = opts.host ?? d.host;
  const path = opts.path ?? d.path;
  const fps = opts.fps ?? d.fps;
  const log = opts.logger ?? defaultLogger('rtsp:camera-sim');
  const encoder = new H264TestPatternEncoder({
    width: opts.width ?? d.width,
    height: opts.height ?? d.height,
    fps,
    gopFrames: Math.max(1, Math.round((opts.gopSeconds ?? d.gopSeconds) * fps)),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const ffmpeg = opts.ffmpeg ?? findFfmpeg();
  if ((opts.audio?.codec === 'AAC' || opts.backchannel?.codec === 'AAC') && !ffmpeg) {
    throw new CamgateError('CAMGATE_CAMERA_SIM_FFMPEG', 'AAC needs FFmpeg: install it or set CAMGATE_FFMPEG');
  }
  let audio: AudioSource | undefined;
  if (opts.audio) {
    try {
      audio = await AudioSource.create({
        codec: opts.audio.codec,
        sampleRate: sampleRateOf(opts.audio),
        toneHz: opts.audio.toneHz ?? DEFAULT_CAMERA_SIM_AUDIO_OPTIONS.toneHz,
        ...(opts.syncMarks ? { syncEverySeconds: opts.syncMarks.everySeconds } : {}),
        ...(ffmpeg ? { ffmpeg } : {}),
      });
    } catch (err) {
      const msg = `camera-sim could not prepare its ${opts.audio.codec} audio: ${(err as Error).message}`;
      throw new CamgateError('CAMGATE_CAMERA_SIM_AUDIO', msg, { cause: err });
    }
  }
  const back = opts.backchannel
    ? new BackchannelRecorder(
        audioFormat(opts.backchannel.codec, sampleRateOf(opts.backchannel), 98),
        DEFAULT_CAMERA_SIM_AUDIO_OPTIONS.backchannelSeconds,
        ffmpeg,
      )
    : undefined;
  const sim = new Sim(opts, host, path, encoder, log, audio, back);
  try {
    await sim.start();
  } catch (err) {
    await sim.close();
    throw new CamgateError(
      'CAMGATE_CAMERA_SIM_LISTEN',
      `camera-sim could not listen on ${host}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return sim;
}

type State = 'running' | 'stopped' | 'closed';

class Sim implements CameraSim {
  readonly encoder: H264TestPatternEncoder;
  readonly #opts: CameraSimOptions;
  readonly #host: string;
  readonly #path: string;
  readonly #log: Logger;
  readonly #server: RtspServer;
  readonly #t0 = performance.now();
  /** The camera's start on the wall clock: capture times in sender reports count from here. */
  readonly #epoch0 = Date.now() - (performance.now() - this.#t0);
  readonly #audio: AudioSource | undefined;
  readonly #audioClock: AudioClock | undefined;
  readonly #back: BackchannelRecorder | undefined;
  #port = 0;
  #http: ServiceHandle | undefined;
  #telnet: ServiceHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #framesEncoded = 0;
  #frozen = false;
  #state: State = 'stopped';

  constructor(
    opts: CameraSimOptions,
    host: string,
    path: string,
    encoder: H264TestPatternEncoder,
    log: Logger,
    audio: AudioSource | undefined,
    back: BackchannelRecorder | undefined,
  ) {
    this.#opts = opts;
    this.#audio = audio;
    this.#back = back;
    if (audio) this.#audioClock = new AudioClock(this.#t0, audio.packetMs, (p) => this.#sendAudio(p));
    this.#host = host;
    this.#path = path;
    this.encoder = encoder;
    this.#log = log;
    const d = DEFAULT_CAMERA_SIM_OPTIONS;
    const auth =
      opts.username !== undefined
        ? new DigestAuthenticator({ username: opts.username, password: opts.password ?? '' })
        : undefined;
    this.#server = new RtspServer({
      path,
      auth,
      logger: log,
      sessionTimeoutS: opts.sessionTimeoutS ?? d.sessionTimeoutS,
      maxConnections: opts.maxConnections ?? d.maxConnections,
      maxQueuedBytes: opts.maxQueuedBytes ?? d.maxQueuedBytes,
      transports: [...(opts.transports ?? d.transports)],
      stream: {
        fps: encoder.fps,
        width: encoder.width,
        height: encoder.height,
        profileLevelId: encoder.profileLevelId,
        spropParameterSets: encoder.spropParameterSets,
        sps: encoder.sps,
        pps: encoder.pps,
        parameterSetsInBand: opts.sendParameterSetsInBand ?? d.sendParameterSetsInBand,
      },
      ...(audio ? { audio: audio.format } : {}),
      ...(back ? { backchannel: back } : {}),
      onPlayingChange: (n) => this.#onPlayingChange(n),
    });
  }

  get #hostForUrl(): string {
    return net.isIPv6(this.#host) ? `[${this.#host}]` : this.#host;
  }

  get url(): string {
    return `rtsp://${this.#hostForUrl}:${this.#port}${this.#path}`;
  }

  get urlWithCredentials(): string {
    if (this.#opts.username === undefined) return this.url;
    const user = encodeURIComponent(this.#opts.username);
    const pass = encodeURIComponent(this.#opts.password ?? '');
    return `rtsp://${user}:${pass}@${this.#hostForUrl}:${this.#port}${this.#path}`;
  }

  get port(): number {
    return this.#port;
  }

  get httpPort(): number | undefined {
    return this.#http?.port;
  }

  get telnetPort(): number | undefined {
    return this.#telnet?.port;
  }

  get udpPorts(): { rtp: number; rtcp: number } | undefined {
    return this.#server.udpPorts;
  }

  get stats(): CameraSimStats {
    return {
      sessions: this.#server.sessionsOpened,
      playing: this.#server.playing,
      framesEncoded: this.#framesEncoded,
      framesDropped: this.#server.framesDropped,
      backchannelPackets: this.#back?.packets ?? 0,
      backchannelDropped: this.#back?.dropped ?? 0,
    };
  }

  get audio(): CameraSimAudioInfo | undefined {
    if (!this.#audio || !this.#opts.audio) return undefined;
    const { codec, payloadType, clockRate } = this.#audio.format;
    const toneHz = this.#opts.audio.toneHz ?? DEFAULT_CAMERA_SIM_AUDIO_OPTIONS.toneHz;
    return { codec, payloadType, sampleRate: clockRate, toneHz };
  }

  async backchannelRecording(): Promise<BackchannelRecording> {
    if (!this.#back) {
      throw new CamgateError('CAMGATE_CAMERA_SIM_NO_BACKCHANNEL', 'this camera-sim has no back channel option');
    }
    return this.#back.recording();
  }

  async start(): Promise<void> {
    await this.#listenAll(this.#opts.port ?? DEFAULT_CAMERA_SIM_OPTIONS.port, 0, 0);
    this.#state = 'running';
    this.#log.info('camera-sim listening', { url: this.url, httpPort: this.httpPort, telnetPort: this.telnetPort });
  }

  async #listenAll(rtspPort: number, httpPort: number, telnetPort: number): Promise<void> {
    this.#port = await this.#server.listen(this.#host, rtspPort);
    if (this.#opts.vulnerable?.http) this.#http = await startDvrHttp(this.#host, httpPort, this.#log);
    if (this.#opts.vulnerable?.telnet) this.#telnet = await startTelnetBanner(this.#host, telnetPort, this.#log);
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopped';
    await this.#shutdown(false);
    this.#log.info('camera-sim stopped');
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  freeze(): void {
    if (this.#frozen) return;
    this.#frozen = true;
    this.#log.info('camera-sim frozen: connections stay open, no video');
  }

  unfreeze(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    this.encoder.forceKeyframe();
    this.#log.info('camera-sim sends video again');
  }

  async resume(): Promise<void> {
    if (this.#state !== 'stopped') return;
    // A camera that restarts begins its new stream with an IDR, as real encoders do.
    this.encoder.forceKeyframe();
    try {
      await this.#listenAll(this.#port, this.#http?.port ?? 0, this.#telnet?.port ?? 0);
    } catch (err) {
      // Someone took one of our ports meanwhile: stay stopped as a whole rather than half up.
      await this.#shutdown(false);
      throw new CamgateError(
        'CAMGATE_CAMERA_SIM_LISTEN',
        `camera-sim could not listen again: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    this.#state = 'running';
    this.#log.info('camera-sim resumed', { url: this.url });
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.#shutdown(true);
  }

  /** Tears each part down in its own try, so one failure does not leak the rest. */
  async #shutdown(forget: boolean): Promise<void> {
    this.#stopTimer();
    try {
      await this.#server.shutdown();
    } catch (err) {
      this.#log.warn('rtsp shutdown failed', { err });
    }
    for (const svc of [this.#http, this.#telnet]) {
      try {
        await svc?.close();
      } catch (err) {
        this.#log.warn('service shutdown failed', { err });
      }
    }
    if (forget) {
      this.#http = undefined;
      this.#telnet = undefined;
    }
  }

  #onPlayingChange(n: number): void {
    if (n > 0 && !this.#timer && this.#state === 'running') {
      this.#tick();
      this.#audioClock?.start();
    }
    if (n === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#audioClock?.stop();
  }

  /** Sends audio packet `p` (not while frozen: a hung camera sends nothing). */
  #sendAudio(p: number): void {
    const a = this.#audio;
    if (!a || this.#frozen) return;
    const captureMs = this.#epoch0 + p * a.packetMs;
    this.#server.deliverAudio(p, a.payload(p), a.samplesPerPacket, captureMs);
  }

  /** Encodes the frame that is due now (skipping any we were late for) and schedules the next one. */
  #tick(): void {
    const period = 1000 / this.encoder.fps;
    const due = Math.floor((performance.now() - this.#t0) / period);
    if (due > this.encoder.frameNumber && !this.#frozen) {
      try {
        const marks = this.#opts.syncMarks;
        const pic = this.encoder.encode(
          due,
          marks !== undefined && isFlashFrame(due, this.encoder.fps, marks.everySeconds),
        );
        this.#framesEncoded++;
        this.#server.deliver({ ...pic, captureMs: this.#epoch0 + due * period });
      } catch (err) {
        this.#log.error('encoding failed', { err });
      }
    }
    const next = this.#t0 + (Math.max(due, this.encoder.frameNumber) + 1) * period;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, next - performance.now()));
  }
}
