/**
 * Push-to-talk from a browser (docs/engine.md "Talking back"): a
 * WebRtcEndpoint `connect`ed into a PlayerEndpoint with mediaType AUDIO
 * hands the viewer's voice (Opus from its sendonly audio section) to the
 * camera's talk lock (`openTalk` on the player's source, talkback.ts).
 *
 * The lock is taken with the first voice packet once the player plays (the
 * back channel is known only after the camera's RTSP SETUP). A refusal —
 * someone else talks (CAMGATE_ENGINE_TALK_BUSY), the camera has no back
 * channel (CAMGATE_ENGINE_NO_BACKCHANNEL) — is reported once, as the
 * endpoint's `Error` event, and this link then stays silent: the viewer is
 * told in plain words and lets go of the button. A session that ended on its
 * own (FFmpeg failed, the talker paused past the idle timeout) is reopened
 * by the next voice, at most once per `reopenMs`.
 */
import type { Logger } from '../../util/index.js';
import type { RtspSourceHandleLike, TalkSessionLike } from '../media-plane.js';

/** Least time between two attempts to reopen a talk session that ended on its own (ms). */
const REOPEN_MS = 2000;

export interface WebRtcTalkOptions {
  /** The player's camera pull while it plays; undefined before (voice is then dropped). */
  source: () => RtspSourceHandleLike | undefined;
  /** Who talks: the endpoint's id (one talker per endpoint). */
  talkerId: string;
  /** Reports a refusal once (code is a CAMGATE_ENGINE_* code). */
  onRefused: (code: string, message: string) => void;
  logger: Logger;
}

export class WebRtcTalk {
  readonly #o: WebRtcTalkOptions;
  #session: (TalkSessionLike & { readonly closed?: boolean }) | undefined;
  #refused = false;
  #closed = false;
  #lastOpen = 0;
  /** Voice packets handed to the camera's talk session. */
  forwarded = 0;

  constructor(o: WebRtcTalkOptions) {
    this.#o = o;
  }

  push(payload: Buffer, timestamp: number): void {
    if (this.#closed || this.#refused) return;
    if (!this.#session || this.#session.closed === true) {
      const now = Date.now();
      if (this.#session && now - this.#lastOpen < REOPEN_MS) return;
      const source = this.#o.source();
      if (!source) return;
      this.#lastOpen = now;
      this.#session = undefined;
      if (!source.openTalk) return this.#refuse('CAMGATE_ENGINE_NO_BACKCHANNEL', 'this camera cannot be talked to');
      try {
        this.#session = source.openTalk(this.#o.talkerId);
        this.#o.logger.info('talking to the camera', { talker: this.#o.talkerId });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return this.#refuse(
          typeof code === 'string' ? code : 'CAMGATE_ENGINE_TALK_FAILED',
          (err as Error).message ?? 'talking to the camera failed',
        );
      }
    }
    this.#session.pushOpus(payload, timestamp);
    this.forwarded++;
  }

  #refuse(code: string, message: string): void {
    this.#refused = true;
    this.#o.logger.info('talking to the camera refused', { talker: this.#o.talkerId, code });
    this.#o.onRefused(code, message);
  }

  /** Gives the camera's talk lock back. Idempotent. */
  close(): void {
    this.#closed = true;
    const s = this.#session;
    this.#session = undefined;
    s?.close();
  }
}
