import type { Logger } from '../../util/index.js';
import type { AudioFrame, AudioPayload, ViewerAudioCodec } from './audio-codecs.js';
import { SyncAnchor, type ViewerClock } from './lip-sync.js';
import type { RtpSink } from './video-writer.js';
import { loadedWerift, loadWerift, type WeriftModule } from './werift-lazy.js';

export interface AudioWriterOptions {
  /** The payloads the viewer accepted (parseAudioSection of the answer). */
  payloads: readonly AudioPayload[];
  /** The viewer's clock shared with its video writer (lip-sync.ts). */
  clock: ViewerClock;
  logger: Logger;
}

/** Between two sender reports (RFC 3550 §6.2; the same rhythm as the video writer's). */
const SR_INTERVAL_MS = 1_000;
/** A timestamp step backwards or longer than this is a new camera session, not a pause. */
const MAX_STEP_S = 5;

/**
 * Writes audio frames to one viewer: its own SSRC (the audio sender's),
 * sequence numbers and RTP timeline, straight to the DTLS transport like
 * VideoWriter. No pacing (a frame is one small packet) and no
 * retransmission (browsers do not NACK audio; Opus has in-band FEC).
 * Sender reports carry the same viewer clock as the video's, so the
 * browser lines the tracks up (lip-sync.ts).
 */
export class AudioWriter {
  readonly #sink: RtpSink;
  readonly #pt = new Map<ViewerAudioCodec, number>();
  readonly #anchor: SyncAnchor;
  readonly #log: Logger;
  readonly #header = Buffer.alloc(12);
  #seq = Math.floor(Math.random() * 0x10000);
  #out = Math.floor(Math.random() * 0x100000000);
  #lastIn: { timestamp: number; clockRate: number; samples: number; codec: string } | undefined;
  #packets = 0;
  #octets = 0;
  #srTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(sink: RtpSink, opts: AudioWriterOptions) {
    this.#sink = sink;
    for (const p of opts.payloads) {
      if (p.codec === 'OPUS' || p.codec === 'PCMA' || p.codec === 'PCMU') this.#pt.set(p.codec, p.payloadType);
    }
    this.#anchor = new SyncAnchor(opts.clock);
    this.#log = opts.logger;
    this.#header[0] = 0x80;
    this.#header.writeUInt32BE(sink.ssrc >>> 0, 8);
  }

  /** The codecs this viewer accepted, ours first choice first. */
  get accepted(): ViewerAudioCodec[] {
    return [...this.#pt.keys()];
  }

  /** Sends one frame; false when its codec was not negotiated or the writer is closed. */
  write(frame: AudioFrame): boolean {
    if (this.#closed) return false;
    const pt = this.#pt.get(frame.codec as ViewerAudioCodec);
    if (pt === undefined) return false;
    const marker = this.#advance(frame);
    const h = this.#header;
    h[1] = (marker ? 0x80 : 0) | pt;
    h.writeUInt16BE(this.#seq, 2);
    h.writeUInt32BE(this.#out, 4);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#packets = (this.#packets + 1) >>> 0;
    this.#octets = (this.#octets + frame.payload.length) >>> 0;
    this.#anchor.set(this.#out, frame.clockRate, frame.ntpMs);
    this.#sink.sendRtp(h, frame.payload);
    if (!this.#srTimer) {
      this.#srTimer = setInterval(() => this.#report(), SR_INTERVAL_MS);
      this.#srTimer.unref();
    }
    return true;
  }

  close(): void {
    this.#closed = true;
    if (this.#srTimer) clearInterval(this.#srTimer);
    this.#srTimer = undefined;
  }

  /**
   * Moves this viewer's RTP time to `frame`: by the camera's own step when it is a plausible one
   * (gaps in the camera's audio stay gaps: the browser's jitter buffer plays silence), else by the
   * previous frame's length (camera reconnect, codec change). Returns the marker bit: set on the
   * first packet after a discontinuity (RFC 3551 §4.1).
   */
  #advance(frame: AudioFrame): boolean {
    const last = this.#lastIn;
    this.#lastIn = {
      timestamp: frame.timestamp,
      clockRate: frame.clockRate,
      samples: frame.samples,
      codec: frame.codec,
    };
    if (!last) return true;
    if (last.codec === frame.codec && last.clockRate === frame.clockRate) {
      const step = ((frame.timestamp >>> 0) - (last.timestamp >>> 0)) | 0;
      if (step > 0 && step <= MAX_STEP_S * frame.clockRate) {
        this.#out = (this.#out + step) >>> 0;
        return false;
      }
    }
    const lastLen = Math.round((last.samples * frame.clockRate) / last.clockRate);
    this.#out = (this.#out + Math.max(1, lastLen)) >>> 0;
    this.#log.debug('audio timeline restarted', { codec: frame.codec });
    return true;
  }

  #report(): void {
    const r = this.#anchor.report();
    if (!r) return;
    const packetCount = this.#packets;
    const octetCount = this.#octets;
    const send = (w: WeriftModule): void => {
      if (this.#closed) return;
      this.#sink.sendRtcp([
        new w.RtcpSrPacket({
          ssrc: this.#sink.ssrc,
          senderInfo: new w.RtcpSenderInfo({
            ntpTimestamp: r.ntp,
            rtpTimestamp: r.rtpTimestamp,
            packetCount,
            octetCount,
          }),
        }),
      ]);
    };
    // werift is loaded by the time a peer sends audio (werift-lazy.ts); a test's sink may come first.
    const w = loadedWerift();
    if (w) send(w);
    else void loadWerift().then(send);
  }
}
