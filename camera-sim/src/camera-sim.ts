/**
 * `startCameraSim`: a live H.264 IP camera on loopback for the demo, the
 * media tests and the benchmarks — RTSP with Digest auth, a picture that
 * changes every frame, and optionally the weak services of a cheap DVR.
 *
 * The picture runs on the camera's own clock: frame n is due at
 * start + n / fps, whether or not anyone watches, so IDRs come every
 * `gopSeconds` of wall time and a new viewer waits for the next one, as with
 * a real camera. Pictures are only encoded while a session plays.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { CamgateError, defaultLogger, type Logger } from '@camgate/core';
import { DigestAuthenticator } from './digest-auth.js';
import { H264TestPatternEncoder } from './h264-encoder.js';
import { RtspServer } from './rtsp-server.js';
import { SIM_TRANSPORTS, type SimTransport } from './rtsp-transport.js';
import { startDvrHttp, startTelnetBanner, type ServiceHandle } from './vulnerable-services.js';

export interface CameraSimOptions {
  /** Address to listen on (an IP literal). */
  host?: string;
  /** RTSP port; 0 picks a free one. */
  port?: number;
  /** Path of the stream, starting with `/`. */
  path?: string;
  /** Digest username; without one the camera asks for no authentication. */
  username?: string;
  /** Digest password; required with `username`. */
  password?: string;
  /** Picture width in pixels (even, 32..4096). */
  width?: number;
  /** Picture height in pixels (even, 32..2304). */
  height?: number;
  /** Frames per second (integer 1..60). */
  fps?: number;
  /** Keyframe (IDR) interval in seconds; at least one frame. */
  gopSeconds?: number;
  /** Repeat SPS/PPS before every IDR; false sends them only in the SDP `sprop-parameter-sets`. */
  sendParameterSetsInBand?: boolean;
  /** Extra services on their own free ports, for the exposure scanner to find. */
  vulnerable?: { http?: boolean; telnet?: boolean };
  /** Seconds without any request or RTCP from a client before its connection is closed. */
  sessionTimeoutS?: number;
  /**
   * RTP transports offered at SETUP (RFC 2326 §12.39): `tcp` interleaved in the RTSP connection, `udp` unicast
   * to the RTSP client's own address from a UDP port pair on `host`. Anything else gets 461.
   */
  transports?: SimTransport[];
  /** Most simultaneous RTSP connections. */
  maxConnections?: number;
  /** Bytes queued to one viewer above which it loses pictures until the next IDR. */
  maxQueuedBytes?: number;
  /** Wall clock drawn in the picture (epoch ms); tests may pin it. */
  clock?: () => number;
  logger?: Logger;
}

export const DEFAULT_CAMERA_SIM_OPTIONS = {
  host: '127.0.0.1',
  port: 0, // ephemeral
  path: '/stream1',
  width: 1280, // pixels
  height: 720, // pixels
  fps: 25, // frames per second
  gopSeconds: 4, // seconds between IDRs, a common camera default
  sendParameterSetsInBand: true,
  sessionTimeoutS: 60, // seconds, the RFC 2326 §12.37 default
  maxConnections: 64,
  maxQueuedBytes: 8 * 1024 * 1024, // 8 MiB: a few 720p I_PCM keyframes
  transports: SIM_TRANSPORTS, // both TCP-interleaved and UDP unicast
} as const;

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

function validate(o: CameraSimOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('startCameraSim: options must be an object');
  const str = (name: keyof CameraSimOptions): void => {
    if (o[name] !== undefined && typeof o[name] !== 'string') {
      throw new TypeError(`${name} must be a string, got ${typeof o[name]}`);
    }
  };
  (['host', 'path', 'username', 'password'] as const).forEach(str);
  for (const name of [
    'port',
    'width',
    'height',
    'fps',
    'gopSeconds',
    'sessionTimeoutS',
    'maxConnections',
    'maxQueuedBytes',
  ] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'number') {
      throw new TypeError(`${name} must be a number, got ${typeof o[name]}`);
    }
  }
  for (const name of ['sendParameterSetsInBand'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') {
      throw new TypeError(`${name} must be a boolean, got ${typeof o[name]}`);
    }
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new TypeError('clock must be a function');
  if (o.host !== undefined && net.isIP(o.host) === 0) throw new TypeError(`host must be an IP address, got ${o.host}`);
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw new RangeError(`port must be an integer 0..65535, got ${String(o.port)}`);
  }
  if (o.path !== undefined && !/^\/[A-Za-z0-9._~\-/]{0,200}$/.test(o.path)) {
    throw new RangeError(`path must start with / and use only URL-safe characters, got ${o.path}`);
  }
  if ((o.username === undefined) !== (o.password === undefined)) {
    throw new TypeError('username and password must be given together');
  }
  if (o.username !== undefined && (o.username === '' || /[:"\\\r\n]/.test(o.username))) {
    throw new RangeError('username must be non-empty and contain no : " \\ or line breaks');
  }
  if (o.password !== undefined && /[\r\n"\\]/.test(o.password)) {
    throw new RangeError('password must not contain " \\ or line breaks');
  }
  if (o.gopSeconds !== undefined && (typeof o.gopSeconds !== 'number' || !(o.gopSeconds > 0) || o.gopSeconds > 3600)) {
    throw new RangeError(`gopSeconds must be a number > 0 and <= 3600, got ${String(o.gopSeconds)}`);
  }
  const pos = (name: 'sessionTimeoutS' | 'maxConnections' | 'maxQueuedBytes', max: number): void => {
    const v = o[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) {
      throw new RangeError(`${name} must be an integer 1..${max}, got ${String(v)}`);
    }
  };
  pos('sessionTimeoutS', 86_400);
  pos('maxConnections', 10_000);
  pos('maxQueuedBytes', 1024 * 1024 * 1024);
  if (o.transports !== undefined) {
    const t: unknown = o.transports;
    if (!Array.isArray(t)) throw new TypeError(`transports must be an array of 'tcp' | 'udp', got ${typeof t}`);
    const bad = t.find((x) => !SIM_TRANSPORTS.includes(x as SimTransport));
    if (bad !== undefined) throw new RangeError(`transports: ${String(bad)} is not one of 'tcp', 'udp'`);
    if (t.length === 0 || new Set(t).size !== t.length) {
      throw new RangeError(`transports must list 'tcp' and/or 'udp' once each, got [${t.join(', ')}]`);
    }
  }
  if (o.vulnerable !== undefined && (o.vulnerable === null || typeof o.vulnerable !== 'object')) {
    throw new TypeError('vulnerable must be an object { http?: boolean; telnet?: boolean }');
  }
}

/** Starts a simulated camera; resolves once every port listens. */
export async function startCameraSim(opts: CameraSimOptions = {}): Promise<CameraSim> {
  validate(opts);
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
  const sim = new Sim(opts, host, path, encoder, log);
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
  #port = 0;
  #http: ServiceHandle | undefined;
  #telnet: ServiceHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #framesEncoded = 0;
  #frozen = false;
  #state: State = 'stopped';

  constructor(opts: CameraSimOptions, host: string, path: string, encoder: H264TestPatternEncoder, log: Logger) {
    this.#opts = opts;
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
    };
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
    if (n > 0 && !this.#timer && this.#state === 'running') this.#tick();
    if (n === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Encodes the frame that is due now (skipping any we were late for) and schedules the next one. */
  #tick(): void {
    const period = 1000 / this.encoder.fps;
    const due = Math.floor((performance.now() - this.#t0) / period);
    if (due > this.encoder.frameNumber && !this.#frozen) {
      try {
        const pic = this.encoder.encode(due);
        this.#framesEncoded++;
        this.#server.deliver(pic);
      } catch (err) {
        this.#log.error('encoding failed', { err });
      }
    }
    const next = this.#t0 + (Math.max(due, this.encoder.frameNumber) + 1) * period;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, next - performance.now()));
  }
}
