/**
 * Pulls one H.264 (or, when allowed, H.265) stream from a camera, with its audio and, when asked, its
 * ONVIF back channel (rtsp-audio.ts): OPTIONS → DESCRIBE → SETUP (TCP interleaved: video, audio, back
 * channel) → aggregate PLAY over one TCP connection (RFC 2326 §10, §C.1.1),
 * keeps the session alive, and reconnects with exponential backoff when the
 * camera drops or stalls (no video for `stallTimeoutMs`, even when the TCP
 * connection stays open). Authentication failures, 404 and unsupported
 * streams end in state `failed` instead of being retried forever: retrying a
 * wrong password only gets a camera to lock the account.
 *
 * The URL's userinfo is split off in the constructor; nothing this class
 * emits, throws or logs contains the credentials.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CamgateError } from '../util/errors.js';
import { defaultLogger } from '../util/logger.js';
import type { Logger } from '../util/logger.js';
import { redactString } from '../util/redact.js';
import type { H264AccessUnit } from './h264-rtp.js';
import { RtspAudioSession } from './rtsp-audio.js';
import type { RtspNotice, RtspSenderReport } from './rtsp-audio.js';
import type { RtspAudioFrame } from './audio-rtp.js';
import type { RtspAudioInfo } from './sdp-audio.js';
import { RtspConnection } from './rtsp-connection.js';
import { getHeader } from './rtsp-message.js';
import { FATAL_RTSP_ERRORS, contentBase, expectOk, videoChannels } from './rtsp-response.js';
import { parseRtspUrl } from './rtsp-url.js';
import type { ParsedRtspUrl } from './rtsp-url.js';
import { parseSdp, resolveControl } from './sdp.js';
import { validateClientOptions } from './rtsp-client-options.js';
import type { ResolvedRtspClientOptions, RtspClientOptions } from './rtsp-client-options.js';
import { RtspVideoDepacketizer, selectVideoTrack } from './rtsp-video.js';
import type { RtspVideoInfo } from './rtsp-video.js';

export type { RtspVideoInfo } from './rtsp-video.js';

export type RtspClientState = 'connecting' | 'playing' | 'retrying' | 'failed' | 'closed';

export interface RtspClientEvents {
  state: [state: RtspClientState, detail: { error?: CamgateError; nextRetryMs?: number }];
  /** After DESCRIBE/SETUP, and again after every reconnect. */
  video: [info: RtspVideoInfo];
  accessUnit: [au: H264AccessUnit];
  /** Every RTP packet of the video track, as received. */
  rtp: [packet: Buffer];
  /** The camera's audio track, after its SETUP (again after each reconnect). */
  audio: [info: RtspAudioInfo];
  /** AAC: one raw access unit (no ADTS); G.711/Opus: the RTP payload. Timestamp in the track's RTP clock. */
  audioFrame: [frame: RtspAudioFrame];
  /** A camera's RTCP sender report (RFC 3550 §6.4.1) of the video or the audio track. */
  senderReport: [sr: RtspSenderReport];
  /** The ONVIF back channel, after its SETUP (again after each reconnect). */
  backchannel: [info: RtspAudioInfo];
  /** Audio the client could not set up (codec, refusal, no back channel); once per client, also logged. */
  notice: [notice: RtspNotice];
}

export class RtspClient extends EventEmitter<RtspClientEvents> {
  readonly #target: ParsedRtspUrl;
  readonly #opts: ResolvedRtspClientOptions;
  readonly #log: Logger;
  #state: RtspClientState = 'connecting';
  #started = false;
  #conn: RtspConnection | undefined;
  #abort: AbortController | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  /** True once this session's first video RTP arrived (the stall timeout applies from then on). */
  #gotVideo = false;
  #watched = false;
  /** When the pending retry fires (performance.now() ms), to bring it forward when a viewer arrives. */
  #retryAt = 0;
  #video: RtspVideoInfo | undefined;
  /** Interleaved channel of video RTP; -1 until SETUP has answered on the current connection. */
  #rtpChannel = -1;
  #playUrl = '';
  #keepAliveMethod = 'OPTIONS';
  readonly #depacketizer: RtspVideoDepacketizer;
  #closePromise: Promise<void> | undefined;
  readonly #audio: RtspAudioSession;

  /** Throws TypeError/RangeError for a bad URL or option (the URL is redacted in the message). */
  constructor(url: string, opts: RtspClientOptions = {}) {
    super();
    this.#target = parseRtspUrl(url);
    this.#opts = validateClientOptions(opts);
    this.#log = opts.logger ?? defaultLogger('rtsp');
    this.#depacketizer = new RtspVideoDepacketizer(this.#opts.maxAccessUnitBytes);
    this.#audio = new RtspAudioSession({
      audio: this.#opts.audio,
      backchannel: this.#opts.backchannel,
      logger: this.#log,
      hooks: {
        audio: (info) => this.emit('audio', info),
        audioFrame: (frame) => this.emit('audioFrame', frame),
        senderReport: (sr) => this.emit('senderReport', sr),
        backchannel: (info) => this.emit('backchannel', info),
        notice: (n) => this.emit('notice', n),
      },
      redact: (message) => this.#redact(message),
    });
  }

  /** `connecting` until the first PLAY succeeds (also before `start()`). */
  get state(): RtspClientState {
    return this.#state;
  }

  get videoInfo(): RtspVideoInfo | undefined {
    return this.#video;
  }

  /** The camera's audio track as last set up; undefined when it has none we play (or `audio: false`). */
  get audioInfo(): RtspAudioInfo | undefined {
    return this.#audio.audioInfo;
  }

  /** The camera's back channel as last set up; undefined without one (or `backchannel: false`). */
  get backchannelInfo(): RtspAudioInfo | undefined {
    return this.#audio.backchannelInfo;
  }

  /**
   * Sends one RTP packet (our SSRC and sequence, the back channel's payload type) to the camera's back
   * channel. `payload`: one G.711 or Opus frame, or an AAC `aacRtpPayload(au)`, 1..1400 bytes (RangeError
   * otherwise); `timestamp` in the back channel's clock. False when not playing or without a back channel.
   */
  sendBackchannel(payload: Buffer, timestamp: number): boolean {
    return this.#audio.send(payload, timestamp, this.#state === 'playing');
  }

  /** The camera URL without credentials. */
  get url(): string {
    return this.#target.url;
  }

  /** True while someone watches (see `setWatched`). */
  get watched(): boolean {
    return this.#watched;
  }

  /**
   * Someone is (or no longer is) watching this camera: while watched, retries are at most
   * `backoff.watchedMaxMs` apart so that video is back within 3 s of the camera's return (issue 11);
   * unwatched (warm) pulls back off up to `backoff.maxMs`. A pending longer wait is brought forward.
   */
  setWatched(watched: boolean): void {
    if (typeof watched !== 'boolean') throw new TypeError('setWatched: watched must be a boolean');
    this.#watched = watched;
    if (!watched || !this.#retryTimer) return;
    const cap = this.#jittered(this.#opts.backoff.watchedMaxMs);
    if (this.#retryAt - performance.now() <= cap) return;
    clearTimeout(this.#retryTimer);
    this.#scheduleRetry(cap);
  }

  /** Starts connecting. Calling it twice, or after close(), throws. */
  start(): void {
    if (this.#started) throw new Error('RtspClient.start() called twice');
    this.#started = true;
    void this.#connect();
  }

  /** Tears the session down (TEARDOWN when playing), clears every timer and socket. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#doClose();
    return this.#closePromise;
  }

  async #doClose(): Promise<void> {
    const wasPlaying = this.#state === 'playing';
    this.#state = 'closed'; // from here on, nothing reconnects and late failures are ignored
    this.#clearTimers();
    this.#abort?.abort();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn && !conn.closed && wasPlaying && conn.session) {
      try {
        await conn.request('TEARDOWN', this.#playUrl, {}, this.#opts.teardownTimeoutMs); // RFC 2326 §10.7
      } catch (err) {
        this.#log.debug('TEARDOWN failed', { error: this.#safeError(err) });
      }
    }
    conn?.close();
    this.emit('state', 'closed', {});
  }

  /** A method, not a field test, because close() may change the state across an await. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #setState(state: RtspClientState, detail: { error?: CamgateError; nextRetryMs?: number } = {}): void {
    if (this.#state === 'closed') return;
    this.#state = state;
    this.#log.debug('state', { state, code: detail.error?.code, nextRetryMs: detail.nextRetryMs });
    this.emit('state', state, detail);
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('connecting');
    this.#abort = new AbortController();
    let conn: RtspConnection;
    try {
      conn = await RtspConnection.connect(
        {
          host: this.#target.host,
          port: this.#target.port,
          ...(this.#target.username !== undefined ? { username: this.#target.username } : {}),
          ...(this.#target.password !== undefined ? { password: this.#target.password } : {}),
          userAgent: this.#opts.userAgent,
          maxMessageBytes: this.#opts.maxMessageBytes,
          connectTimeoutMs: this.#opts.connectTimeoutMs,
          requestTimeoutMs: this.#opts.requestTimeoutMs,
          logger: this.#log,
        },
        this.#abort.signal,
      );
    } catch (err) {
      this.#fail(err, undefined);
      return;
    }
    if (this.#isClosed()) {
      // close() ran while the TCP connect was in flight.
      conn.close();
      return;
    }
    this.#conn = conn;
    this.#depacketizer.reset(); // the next DESCRIBE chooses the codec afresh
    this.#rtpChannel = -1;
    this.#gotVideo = false;
    this.#audio.reset(conn);
    conn.on('close', (err) => this.#fail(err ?? this.#err('CAMGATE_RTSP_DISCONNECTED', 'connection closed'), conn));
    conn.on('interleaved', (channel, data) => this.#onInterleaved(channel, data));
    try {
      await this.#handshake(conn);
    } catch (err) {
      this.#fail(err, conn);
    }
  }

  async #handshake(conn: RtspConnection): Promise<void> {
    const url = this.#target.url;
    const options = await conn.request('OPTIONS', url); // RFC 2326 §10.1
    const pub = options.status === 200 ? (getHeader(options.headers, 'public') ?? '') : '';
    this.#keepAliveMethod = /\bGET_PARAMETER\b/.test(pub) ? 'GET_PARAMETER' : 'OPTIONS';

    const describe = expectOk('DESCRIBE', url, await this.#audio.describe(conn, url));
    const base = contentBase(describe, url);
    const sdp = parseSdp(describe.body.toString('utf8'));
    const track = selectVideoTrack(sdp, base, () => this.#opts.acceptH265()); // errors: redacted by #fail

    // RFC 2326 §10.12, §12.39: ask for RTP/RTCP on channels 0-1 of this connection.
    const setup = expectOk(
      'SETUP',
      url,
      await conn.request('SETUP', track.controlUrl, {
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
        ...this.#audio.requireHeaders(),
      }),
    );
    conn.adoptSession(setup);
    const channels = videoChannels(setup);
    this.#rtpChannel = channels[0];
    this.#video = this.#depacketizer.use(track);
    this.emit('video', this.#video);
    await this.#audio.setup(conn, sdp, base, channels);

    this.#playUrl = resolveControl(sdp.control, base);
    expectOk('PLAY', url, await conn.request('PLAY', this.#playUrl, this.#audio.playHeaders()));
    if (conn !== this.#conn || this.#state === 'closed') return;
    this.#startTimers(conn);
    this.#setState('playing');
  }

  #startTimers(conn: RtspConnection): void {
    this.#armStallTimer(conn);
    // RFC 2326 §12.37: the session expires after `timeout` seconds without a request; refresh at half of it.
    const every = Math.max(1000, Math.min(this.#opts.keepAliveMs, (conn.sessionTimeoutS * 1000) / 2));
    this.#keepAliveTimer = setInterval(() => {
      conn.request(this.#keepAliveMethod, this.#playUrl).catch((err: unknown) => {
        this.#log.debug('keep-alive failed', { error: this.#safeError(err) });
      });
    }, every);
  }

  /** Until the first video of the session: firstVideoTimeoutMs; from then on: stallTimeoutMs without video. */
  #armStallTimer(conn: RtspConnection): void {
    clearTimeout(this.#stallTimer);
    const ms = this.#gotVideo ? this.#opts.stallTimeoutMs : this.#opts.firstVideoTimeoutMs;
    this.#stallTimer = setTimeout(() => {
      this.#fail(this.#err('CAMGATE_RTSP_STALLED', `no video for ${ms} ms`), conn);
    }, ms);
  }

  #onInterleaved(channel: number, data: Buffer): void {
    // RTP may share a TCP segment with the PLAY response, so it counts from SETUP on, not from `playing`.
    if (this.#state === 'closed') return;
    if (channel !== this.#rtpChannel) {
      this.#audio.onInterleaved(channel, data); // audio, RTCP; other channels are ignored
      return;
    }
    if (!this.#gotVideo) {
      this.#gotVideo = true;
      if (this.#stallTimer && this.#conn) this.#armStallTimer(this.#conn);
    } else {
      this.#stallTimer?.refresh();
    }
    this.emit('rtp', data);
    for (const au of this.#depacketizer.push(data)) {
      this.#attempt = 0; // media flows: the next drop starts the backoff afresh
      this.emit('accessUnit', au);
    }
  }

  #fail(err: unknown, conn: RtspConnection | undefined): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (conn !== undefined && conn !== this.#conn) return; // a connection we already gave up on
    // Rebuilt through #err so that no message can carry the credentials.
    const error =
      err instanceof CamgateError
        ? this.#err(err.code, err.message)
        : this.#err('CAMGATE_RTSP_PROTOCOL', this.#safeError(err).message);
    this.#clearTimers();
    const old = this.#conn;
    this.#conn = undefined;
    old?.close();
    if (FATAL_RTSP_ERRORS.has(error.code)) {
      this.#log.warn('camera stream failed', { error });
      this.#setState('failed', { error });
      return;
    }
    const b = this.#opts.backoff;
    const cap = this.#watched ? b.watchedMaxMs : b.maxMs;
    const delay = this.#jittered(Math.min(cap, b.initialMs * 2 ** Math.min(this.#attempt, 30)));
    this.#attempt++;
    // info, not debug: a camera that cannot be reached must show in the log without turning debug on.
    this.#log.info('camera stream lost; retrying', { error, nextRetryMs: delay, watched: this.#watched });
    this.#setState('retrying', { error, nextRetryMs: delay });
    this.#scheduleRetry(delay);
  }

  #scheduleRetry(delay: number): void {
    this.#retryAt = performance.now() + delay;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect();
    }, delay);
  }

  /** `ms` spread by ±backoff.jitter, at least 1 ms. */
  #jittered(ms: number): number {
    const j = this.#opts.backoff.jitter;
    return Math.max(1, Math.round(ms * (1 + j * (2 * Math.random() - 1))));
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#stallTimer);
    clearInterval(this.#keepAliveTimer);
    this.#retryTimer = this.#stallTimer = this.#keepAliveTimer = undefined;
  }

  /** A CamgateError whose message cannot carry the credentials, even if a camera echoed them. */
  #err(code: string, message: string): CamgateError {
    return new CamgateError(code, this.#redact(message));
  }

  #redact(message: string): string {
    // A very short user name would redact ordinary words; passwords are removed at any length above 1.
    const { username, password } = this.#target;
    const secrets = [password && password.length > 1 ? password : '', username && username.length > 3 ? username : ''];
    let msg = redactString(message);
    for (const s of secrets) if (s) msg = msg.split(s).join('[redacted]');
    return msg;
  }

  #safeError(err: unknown): { code?: string; message: string } {
    const e = err instanceof Error ? err : new Error(String(err));
    const safe = this.#err((e as { code?: string }).code ?? 'ERROR', e.message);
    return { code: safe.code, message: safe.message };
  }
}
