/**
 * A camera pull's talk-back (shared-rtsp-sources.ts): the `TalkBack` of the
 * camera's RTSP session, made on the first `open` (FFmpeg is looked up then,
 * not for cameras nobody talks to) and closed with the pull.
 *
 * Which cameras are asked for a back channel: all of them. Every shared pull
 * DESCRIBEs with `Require: www.onvif.org/ver20/backchannel` (ONVIF Streaming
 * Spec §5.3); a camera without one answers 551 (or 400/501) and the RTSP
 * client asks again without it, once per session (rtsp-audio.ts), so a camera
 * without a speaker costs one extra request per connect and nothing else.
 * Talking to it then fails with CAMGATE_ENGINE_NO_BACKCHANNEL.
 */
import { CamgateError, type Logger } from '../../util/index.js';
import { TalkBack, type BackchannelTarget, type TalkSession } from './talkback.js';

export class SourceTalk {
  readonly #target: BackchannelTarget;
  readonly #ffmpeg: () => string | undefined;
  readonly #log: Logger;
  #talk: TalkBack | undefined;
  #closed = false;

  constructor(target: BackchannelTarget, opts: { ffmpeg: () => string | undefined; logger: Logger }) {
    this.#target = target;
    this.#ffmpeg = opts.ffmpeg;
    this.#log = opts.logger;
  }

  /** Who talks through this camera now, if anyone. */
  get talker(): string | undefined {
    return this.#talk?.talker;
  }

  /** `TalkBack.open` of this camera (CAMGATE_ENGINE_TALK_BUSY, CAMGATE_ENGINE_NO_BACKCHANNEL, …). */
  open(talkerId: string): TalkSession {
    if (this.#closed) throw new CamgateError('CAMGATE_ENGINE_TALK_FAILED', 'the camera pull is closing');
    if (!this.#target.backchannelInfo) {
      throw new CamgateError('CAMGATE_ENGINE_NO_BACKCHANNEL', 'this camera has no audio back channel (no speaker)');
    }
    this.#talk ??= new TalkBack({ target: this.#target, ffmpegPath: this.#ffmpeg(), logger: this.#log });
    return this.#talk.open(talkerId);
  }

  close(): void {
    this.#closed = true;
    this.#talk?.close();
  }
}
