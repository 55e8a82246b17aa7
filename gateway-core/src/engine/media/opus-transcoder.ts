/**
 * One FFmpeg child per camera that turns the camera's audio (AAC, or G.711
 * for a viewer that takes only Opus) into Opus for every viewer of the
 * camera. Started while someone listens (SourceAudio counts them), killed
 * when the last one leaves.
 *
 * Security: `spawn` with an argument array, no shell; FFmpeg never sees the
 * camera URL or its credentials: it reads ADTS (AAC framed with headers
 * built from the SDP's AudioSpecificConfig, adts.ts) or raw A-law/µ-law on
 * stdin and writes Ogg Opus on stdout (ogg-opus.ts). Input waiting in the
 * pipe is bounded (`maxPendingBytes`); beyond it frames are dropped.
 *
 * Timing: Opus output carries no camera time. Each input frame's position
 * in samples is remembered with its camera timestamp; an output packet at
 * sample position p (minus the encoder's pre-skip, RFC 7845 §4.2) takes
 * the timestamp of the input frame that held sample p, plus the offset
 * into it. So a gap in the camera's audio stays a gap and the camera's
 * sender reports still place every Opus packet (lip-sync.ts).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../util/index.js';
import { adtsHeader, parseAudioSpecificConfig, type AacConfig } from './adts.js';
import type { CameraAudioInfo } from './audio-codecs.js';
import { FfmpegChild } from './ffmpeg-child.js';
import { OggOpusReader } from './ogg-opus.js';

export interface OpusTranscoderOptions {
  /** The FFmpeg executable (findFfmpeg). */
  ffmpegPath: string;
  /** The camera's audio track: AAC (with `config`), PCMA or PCMU. */
  input: CameraAudioInfo;
  logger: Logger;
  /** Opus bit rate, bit/s. */
  bitrate?: number;
  /** Bytes written to FFmpeg and not yet read by it, at most; more drops input frames. */
  maxPendingBytes?: number;
  /** Restart delay after FFmpeg exits on its own: starts at `initialMs`, doubles, capped at `maxMs`. */
  restart?: { initialMs?: number; maxMs?: number };
}

export const DEFAULT_OPUS_TRANSCODER_OPTIONS = {
  bitrate: 32_000, // 32 kbit/s: transparent for a camera's microphone (RFC 7587 §3.1.1 lists 24–32k for fullband speech)
  maxPendingBytes: 64 * 1024, // 64 KiB: seconds of camera audio; more means FFmpeg is stuck
  restart: { initialMs: 1_000, maxMs: 30_000 }, // 1 s doubling up to 30 s
} as const;

export interface OpusTranscoderEvents {
  /** One Opus packet: `timestamp` in the camera's audio clock (`clockRate` of the input), `samples` at 48 kHz. */
  packet: [packet: { payload: Buffer; timestamp: number; samples: number }];
  /** FFmpeg exited on its own; it is restarted after `delayMs`. `detail` is FFmpeg's last error line (it never saw the URL). */
  restarting: [delayMs: number, detail: string];
}

/** Input frames remembered for timing, at most (a second of AAC is ~47 frames). */
const MAX_PENDING_FRAMES = 512;
const OPUS_RATE = 48_000;

/** The codecs this transcoder reads. */
export function canTranscodeAudio(info: CameraAudioInfo | undefined): boolean {
  if (!info) return false;
  if (info.codec === 'PCMA' || info.codec === 'PCMU') return info.clockRate === 8000 && info.channels === 1;
  if (info.codec !== 'AAC' || !info.config) return false;
  try {
    parseAudioSpecificConfig(info.config);
    return true;
  } catch {
    return false;
  }
}

/** FFmpeg's arguments: camera audio on stdin, Ogg Opus on stdout, nothing else (no URL, no file, no shell). */
export function opusTranscoderArgs(input: CameraAudioInfo, bitrate: number): string[] {
  const inFormat =
    input.codec === 'AAC'
      ? ['-f', 'aac']
      : ['-f', input.codec === 'PCMA' ? 'alaw' : 'mulaw', '-ar', '8000', '-ac', '1'];
  return [
    '-hide_banner',
    '-nostdin', // stdin is the audio, not keys
    '-loglevel',
    'error',
    // Decode at once instead of probing seconds of input. Not `-fflags +nobuffer`: it throws away what
    // the probe read, the first two AAC frames (128 ms at 16 kHz), and every later packet would then take
    // the camera time of audio 128 ms older, so browsers played the sound that much early.
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    ...inFormat,
    '-i',
    'pipe:0',
    '-map',
    '0:a:0',
    '-vn',
    '-c:a',
    'libopus',
    '-b:a',
    String(bitrate),
    '-ar',
    '48000',
    '-ac',
    '1', // a camera's microphone is mono; Opus in WebRTC is signalled 48000/2 whatever it carries (RFC 7587 §7)
    '-frame_duration',
    '20', // 20 ms frames: WebRTC's usual packet, one Ogg page each (below)
    '-application',
    'lowdelay', // CELT only: least algorithmic delay (RFC 6716 §2)
    // The Ogg muxer would otherwise hold a page for up to 1 s: one page per packet.
    '-page_duration',
    '20000',
    '-flush_packets',
    '1',
    '-f',
    'ogg',
    'pipe:1',
  ];
}

interface InputMark {
  /** Sample position at 48 kHz where this input frame starts. */
  start: number;
  /** Its camera timestamp, extended past 32-bit wraps. */
  timestamp: number;
}

export class OpusTranscoder extends EventEmitter<OpusTranscoderEvents> {
  readonly #o: {
    ffmpegPath: string;
    input: CameraAudioInfo;
    logger: Logger;
    bitrate: number;
    maxPendingBytes: number;
    restart: { initialMs: number; maxMs: number };
  };
  readonly #aac: AacConfig | undefined;
  /** 48 kHz samples per input sample. */
  readonly #scale: number;
  readonly #ffmpeg: FfmpegChild;
  #reader = new OggOpusReader();
  #marks: InputMark[] = [];
  #inPos = 0;
  #outPos = 0;
  #lastTs: number | undefined;
  #extended = 0;
  #closed = false;
  readonly stats = { framesIn: 0, packetsOut: 0, droppedIn: 0, restarts: 0 };

  /** Throws TypeError for a missing path, CAMGATE_ENGINE_AUDIO for an AAC config ADTS cannot carry. */
  constructor(opts: OpusTranscoderOptions) {
    super();
    if (typeof opts?.ffmpegPath !== 'string' || opts.ffmpegPath === '') {
      throw new TypeError('OpusTranscoder: ffmpegPath must be a non-empty string');
    }
    const codec = opts.input?.codec;
    if (codec !== 'AAC' && codec !== 'PCMA' && codec !== 'PCMU') {
      throw new TypeError(`OpusTranscoder: input.codec must be 'AAC', 'PCMA' or 'PCMU', got ${String(codec)}`);
    }
    if (codec === 'AAC' && !Buffer.isBuffer(opts.input.config)) {
      throw new TypeError('OpusTranscoder: an AAC input needs its AudioSpecificConfig (input.config)');
    }
    const d = DEFAULT_OPUS_TRANSCODER_OPTIONS;
    const bitrate = opts.bitrate ?? d.bitrate;
    if (!Number.isInteger(bitrate) || bitrate < 6_000 || bitrate > 510_000) {
      throw new RangeError(
        `OpusTranscoder: bitrate must be 6000..510000 bit/s (RFC 6716 §2.1.1), got ${String(bitrate)}`,
      );
    }
    this.#o = {
      ffmpegPath: opts.ffmpegPath,
      input: opts.input,
      logger: opts.logger,
      bitrate,
      maxPendingBytes: opts.maxPendingBytes ?? d.maxPendingBytes,
      restart: {
        initialMs: opts.restart?.initialMs ?? d.restart.initialMs,
        maxMs: opts.restart?.maxMs ?? d.restart.maxMs,
      },
    };
    this.#aac = codec === 'AAC' ? parseAudioSpecificConfig(opts.input.config!) : undefined;
    this.#scale = OPUS_RATE / (this.#aac ? this.#aac.sampleRate : 8000);
    this.#ffmpeg = new FfmpegChild({
      ffmpegPath: this.#o.ffmpegPath,
      args: () => opusTranscoderArgs(this.#o.input, this.#o.bitrate),
      name: 'audio transcoder',
      logger: this.#o.logger,
      restart: this.#o.restart,
      onStart: () => this.#reset(),
      onOutput: (chunk) => this.#onOutput(chunk),
      onRestarting: (delay, detail) => {
        this.stats.restarts++;
        this.emit('restarting', delay, detail);
      },
    });
  }

  /** True while an FFmpeg process runs. */
  get running(): boolean {
    return this.#ffmpeg.running;
  }

  /** The FFmpeg process id, while one runs (tests measure its CPU). */
  get pid(): number | undefined {
    return this.#ffmpeg.pid;
  }

  /** Feeds one camera frame (AAC: a raw access unit; G.711: the RTP payload). False when dropped. */
  write(payload: Buffer, timestamp: number): boolean {
    if (!this.#ffmpeg.running || this.#closed) return false;
    if (this.#ffmpeg.pendingBytes > this.#o.maxPendingBytes) {
      this.stats.droppedIn++;
      return false;
    }
    let head: Buffer | undefined;
    let samples: number;
    if (this.#aac) {
      head = adtsHeader(this.#aac, payload.length);
      if (!head) {
        this.stats.droppedIn++;
        return false;
      }
      samples = 1024; // an AAC access unit is 1024 samples of the core coder (ISO/IEC 14496-3 §4.5.1.1)
    } else {
      samples = payload.length; // G.711: one byte per sample (RFC 3551 §4.5.14)
    }
    this.#mark(timestamp);
    this.#inPos += samples * this.#scale;
    this.stats.framesIn++;
    if (head) this.#ffmpeg.write(head);
    this.#ffmpeg.write(payload);
    return true;
  }

  /** Kills FFmpeg and stops restarting it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ffmpeg.stop();
  }

  #mark(ts: number): void {
    if (this.#lastTs !== undefined) this.#extended += ((ts >>> 0) - this.#lastTs) | 0;
    else this.#extended = ts >>> 0;
    this.#lastTs = ts >>> 0;
    this.#marks.push({ start: this.#inPos, timestamp: this.#extended });
    if (this.#marks.length > MAX_PENDING_FRAMES) this.#marks.shift();
  }

  /** The camera timestamp of the 48 kHz sample position `pos` of the input. */
  #timestampAt(pos: number): number | undefined {
    const marks = this.#marks;
    // Drop marks whose successor starts at or before pos: output only moves forward.
    while (marks.length > 1 && marks[1]!.start <= pos) marks.shift();
    const m = marks[0];
    if (!m) return undefined;
    const clock = this.#o.input.clockRate;
    return m.timestamp + Math.round(((pos - m.start) / OPUS_RATE) * clock);
  }

  /** A new FFmpeg process: its Ogg stream and sample positions start afresh. */
  #reset(): void {
    this.#reader = new OggOpusReader();
    this.#marks = [];
    this.#inPos = 0;
    this.#outPos = 0;
    this.#lastTs = undefined;
  }

  #onOutput(chunk: Buffer): void {
    for (const p of this.#reader.push(chunk)) {
      const pos = this.#outPos - this.#reader.preSkip;
      this.#outPos += p.samples;
      // The first packet starts pre-skip samples before the input's first sample: its timestamp is earlier.
      const ts = this.#timestampAt(pos);
      if (ts === undefined) continue;
      this.stats.packetsOut++;
      this.#ffmpeg.healthy(); // it works: a later crash starts the backoff afresh
      this.emit('packet', { payload: p.packet, timestamp: ((ts % 2 ** 32) + 2 ** 32) % 2 ** 32, samples: p.samples });
    }
  }
}
