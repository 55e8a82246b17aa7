/**
 * Talking back through a camera's speaker (issue 15): one `TalkBack` per
 * camera holds the talk lock — one talker at a time, a second one gets
 * CAMGATE_ENGINE_TALK_BUSY — and, while someone talks, one FFmpeg child that
 * decodes the talker's Opus (Ogg on its stdin, ogg-opus.ts) and encodes what
 * the camera's ONVIF back channel asks for (ONVIF Streaming Spec §5.3:
 * G.711 PCMA/PCMU at the back channel's rate, or AAC), cut into RTP payloads
 * (talkback-packetizer.ts) and sent with `sendBackchannel` on the camera's
 * RTSP session.
 *
 * FFmpeg is started with `spawn` and an argument array (no shell, ffmpeg-child.ts), only while
 * a TalkSession is open, and killed when it closes. The lock is released on
 * `close()`, when FFmpeg fails, when the talker sends nothing for
 * `idleTimeoutMs` (a peer that vanished without a close), and on
 * `TalkBack.close()`.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CamgateError, defaultLogger, type Logger } from '../../util/index.js';
import { FfmpegChild } from './ffmpeg-child.js';
import { OggOpusWriter } from './ogg-opus-writer.js';
import {
  AAC_FRAME_SAMPLES,
  AdtsSplitter,
  G711Packetizer,
  RtpClock,
  type BackchannelPacket,
} from './talkback-packetizer.js';
import { findFfmpeg } from './transcoder.js';
import { aacRtpPayload } from '../../rtsp/index.js';

/** The back channel as the RTSP client describes it (the shared contract's `RtspAudioInfo`). */
export interface BackchannelInfo {
  codec: 'PCMA' | 'PCMU' | 'AAC' | 'OPUS' | 'OTHER';
  encodingName: string;
  payloadType: number;
  clockRate: number;
  channels: number;
  config?: Buffer;
}

/** Where the talker's audio goes: the camera's RTSP session (`RtspClient`'s back channel). */
export interface BackchannelTarget {
  /** The back channel the camera set up; undefined when it has none (or the session is not up). */
  readonly backchannelInfo: BackchannelInfo | undefined;
  /** Sends one RTP payload; false when not playing or no back channel. */
  sendBackchannel(payload: Buffer, timestamp: number): boolean;
}

export interface TalkBackOptions {
  /** The camera's RTSP session. */
  target: BackchannelTarget;
  /** The FFmpeg executable; default: `ffmpeg` found on PATH. */
  ffmpegPath?: string;
  /** G.711 packet time. */
  packetMs?: number;
  /** AAC bitrate for AAC back channels (bits/s). */
  aacBitrate?: number;
  /** A talker that sends nothing this long is dropped and the lock released. */
  idleTimeoutMs?: number;
  /** Largest Opus packet accepted from a talker (bytes). */
  maxOpusBytes?: number;
  /** Most bytes queued for FFmpeg's stdin before packets are dropped. */
  maxQueuedBytes?: number;
  logger?: Logger;
}

export const DEFAULT_TALKBACK_OPTIONS = {
  packetMs: 20, // ms, RFC 3551 §4.5 default packet time
  aacBitrate: 32_000, // bit/s: speech
  idleTimeoutMs: 10_000, // 10 s: push-to-talk sends 50 packets/s while held
  maxOpusBytes: 4000, // bytes: RFC 6716 §3.2.5 allows 120 ms at most; a 20 ms voice packet is ~100
  maxQueuedBytes: 256 * 1024, // bytes: ~1 min of voice; FFmpeg that far behind is stuck
} as const;

type Resolved = Required<Omit<TalkBackOptions, 'logger' | 'ffmpegPath' | 'target'>> & {
  ffmpegPath: string;
  logger: Logger;
};

/** FFmpeg's arguments: Ogg Opus on stdin → the back channel's codec on stdout, mono at its clock rate. */
export function talkbackFfmpegArgs(info: BackchannelInfo, aacBitrate: number): string[] {
  // Low latency input: no probing beyond the Ogg headers. Not `-fflags nobuffer`: it drops what the
  // probe read, the talker's first packets.
  const input = ['-hide_banner', '-loglevel', 'error', '-probesize', '32'];
  input.push('-analyzeduration', '0', '-f', 'ogg', '-i', 'pipe:0', '-vn', '-ac', '1', '-ar', String(info.clockRate));
  const out =
    info.codec === 'PCMA'
      ? ['-c:a', 'pcm_alaw', '-f', 'alaw']
      : info.codec === 'PCMU'
        ? ['-c:a', 'pcm_mulaw', '-f', 'mulaw']
        : ['-c:a', 'aac', '-b:a', String(aacBitrate), '-f', 'adts'];
  return [...input, ...out, '-flush_packets', '1', 'pipe:1'];
}

/** One talker's audio on its way to the camera. */
export class TalkSession extends EventEmitter<{ close: [reason: string]; error: [err: CamgateError] }> {
  readonly talkerId: string;
  readonly info: BackchannelInfo;
  readonly #ffmpeg: FfmpegChild;
  readonly #ogg = new OggOpusWriter(randomBytes(4).readUInt32BE(0));
  readonly #cut: G711Packetizer | AdtsSplitter;
  readonly #clock: RtpClock;
  readonly #o: Resolved;
  readonly #target: BackchannelTarget;
  readonly #onEnd: () => void;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;
  #queued = 0;
  /** Packets sent to the camera, Opus packets taken and dropped (counters for tests and logs). */
  readonly stats = { sent: 0, refused: 0, opusIn: 0, opusDropped: 0 };

  /** @internal use `TalkBack.open`. */
  constructor(talkerId: string, info: BackchannelInfo, target: BackchannelTarget, o: Resolved, onEnd: () => void) {
    super();
    this.talkerId = talkerId;
    this.info = info;
    this.#o = o;
    this.#target = target;
    this.#onEnd = onEnd;
    this.#cut = info.codec === 'AAC' ? new AdtsSplitter() : new G711Packetizer(info.clockRate, o.packetMs);
    this.#clock = new RtpClock(info.clockRate);
    // Not restarted: a talker whose FFmpeg fails gets an error and the lock is released.
    this.#ffmpeg = new FfmpegChild({
      ffmpegPath: o.ffmpegPath,
      args: () => talkbackFfmpegArgs(info, o.aacBitrate),
      name: 'talk-back',
      logger: o.logger,
      restart: false,
      onOutput: (d) => this.#fromFfmpeg(d),
      onExit: (detail) => this.#fail(`FFmpeg ended (${detail})`),
    });
    this.#write(this.#ogg.headers());
    this.#armIdle();
  }

  /** One Opus packet from the talker (RTP payload, RFC 7587); the RTP timestamp is not needed by Ogg. */
  pushOpus(packet: Buffer, rtpTimestamp: number): void {
    if (this.#closed) return;
    if (!Buffer.isBuffer(packet)) throw new TypeError('TalkSession.pushOpus: packet must be a Buffer');
    if (!Number.isInteger(rtpTimestamp)) throw new TypeError('TalkSession.pushOpus: rtpTimestamp must be an integer');
    this.#armIdle();
    this.stats.opusIn++;
    const page = packet.length <= this.#o.maxOpusBytes ? this.#ogg.packet(packet) : undefined;
    if (!page || this.#queued > this.#o.maxQueuedBytes) {
      this.stats.opusDropped++;
      return;
    }
    this.#write(page);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops FFmpeg and releases the camera's talk lock. Idempotent. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#ffmpeg.stop();
    this.#onEnd();
    this.emit('close', reason);
  }

  #write(buf: Buffer): void {
    const written = this.#ffmpeg.write(buf, () => {
      this.#queued -= buf.length;
    });
    if (written) this.#queued += buf.length;
  }

  #fromFfmpeg(chunk: Buffer): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const p of this.#cut.push(chunk)) this.#send(p, now);
  }

  #send(p: BackchannelPacket, now: number): void {
    const aac = this.info.codec === 'AAC';
    const duration = aac ? AAC_FRAME_SAMPLES : p.payload.length;
    const ts = this.#clock.stamp(p.samples, duration, now);
    const payload = aac ? aacRtpPayload(p.payload) : p.payload;
    if (this.#target.sendBackchannel(payload, ts)) this.stats.sent++;
    else this.stats.refused++;
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#o.logger.info('talker sent nothing; talk lock released', { idleMs: this.#o.idleTimeoutMs });
      this.close('idle');
    }, this.#o.idleTimeoutMs);
    this.#idle.unref();
  }

  #fail(message: string): void {
    if (this.#closed) return;
    const err = new CamgateError('CAMGATE_ENGINE_TALK_FAILED', `talking to the camera failed: ${message}`);
    this.#o.logger.warn('talk-back failed', { err });
    this.close('failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** One camera's talk lock and pipeline. */
export class TalkBack extends EventEmitter<{ talker: [talkerId: string | undefined] }> {
  readonly #o: Resolved;
  readonly #target: BackchannelTarget;
  #session: TalkSession | undefined;
  #closed = false;

  constructor(opts: TalkBackOptions) {
    super();
    if (!opts || typeof opts !== 'object') throw new TypeError('TalkBack options: an object is required');
    const t = opts.target;
    if (!t || typeof t.sendBackchannel !== 'function') {
      throw new TypeError('TalkBack option target: must have backchannelInfo and sendBackchannel(payload, ts)');
    }
    const { target: _target, logger: _logger, ffmpegPath: _path, ...rest } = opts;
    const o = { ...DEFAULT_TALKBACK_OPTIONS, ...stripUndefined(rest) };
    for (const [name, min, max] of [
      ['packetMs', 10, 100],
      ['aacBitrate', 8000, 256_000],
      ['idleTimeoutMs', 100, 3_600_000],
      ['maxOpusBytes', 100, 65_536],
      ['maxQueuedBytes', 4096, 64 * 1024 * 1024],
    ] as const) {
      const v = o[name];
      if (typeof v !== 'number' || !Number.isInteger(v))
        throw new TypeError(`TalkBack option ${name}: must be an integer`);
      if (v < min || v > max) throw new RangeError(`TalkBack option ${name}: ${v} is not allowed (${min}-${max})`);
    }
    const ffmpegPath = opts.ffmpegPath ?? findFfmpeg();
    if (ffmpegPath === undefined) {
      throw new CamgateError('CAMGATE_ENGINE_NO_FFMPEG', 'talking back needs FFmpeg, and none was found on PATH');
    }
    this.#o = { ...o, ffmpegPath, logger: opts.logger ?? defaultLogger('engine:talkback') };
    this.#target = t;
  }

  /** Who talks now, if anyone. */
  get talker(): string | undefined {
    return this.#session?.talkerId;
  }

  /**
   * Takes the talk lock for `talkerId` and starts the pipeline. Throws CAMGATE_ENGINE_TALK_BUSY when someone
   * else talks, CAMGATE_ENGINE_NO_BACKCHANNEL when the camera has no back channel, CAMGATE_ENGINE_TALK_CODEC
   * for a back channel codec this engine does not encode. The same talker opening again gets its session back.
   */
  open(talkerId: string): TalkSession {
    if (typeof talkerId !== 'string' || talkerId.length === 0 || talkerId.length > 256) {
      throw new TypeError('TalkBack.open: talkerId must be a non-empty string of at most 256 characters');
    }
    if (this.#closed) throw new CamgateError('CAMGATE_ENGINE_TALK_FAILED', 'the camera is closing');
    const current = this.#session;
    if (current && !current.closed) {
      if (current.talkerId === talkerId) return current;
      throw new CamgateError('CAMGATE_ENGINE_TALK_BUSY', 'someone else is talking through this camera');
    }
    const info = this.#target.backchannelInfo;
    if (!info) {
      throw new CamgateError('CAMGATE_ENGINE_NO_BACKCHANNEL', 'this camera has no audio back channel (no speaker)');
    }
    if (info.codec !== 'PCMA' && info.codec !== 'PCMU' && info.codec !== 'AAC') {
      throw new CamgateError(
        'CAMGATE_ENGINE_TALK_CODEC',
        `the camera's back channel asks for ${info.encodingName.slice(0, 32)}; the engine sends PCMA, PCMU or AAC`,
      );
    }
    const session = new TalkSession(talkerId, info, this.#target, this.#o, () => {
      if (this.#session === session) {
        this.#session = undefined;
        this.emit('talker', undefined);
      }
    });
    this.#session = session;
    this.emit('talker', talkerId);
    return session;
  }

  /** Ends the current talk, if any, and refuses new ones. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#session?.close('camera closed');
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
