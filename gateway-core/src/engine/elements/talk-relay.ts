import type { Logger } from '../../util/index.js';
import type { RtspSourceHandleLike, TalkSessionLike } from '../media-plane.js';

export interface TalkRelayOptions {
  /** Silence after which the talk lock is given back, in ms. */
  idleMs?: number;
  /** After the camera was busy, how long before asking again, in ms. */
  busyRetryMs?: number;
}

export const DEFAULT_TALK_RELAY_OPTIONS = {
  idleMs: 1500, // 1.5 s: HomeKit sends nothing while the microphone is muted, so silence ends the turn
  busyRetryMs: 2000, // 2 s: someone else talks; ask again rather than on every 20 ms packet
} as const;

/**
 * One remote talker's voice (an RtpEndpoint's `sendrecv` audio) to a camera's
 * back channel. The talk lock is taken when voice arrives and given back
 * after a silence, so a HomeKit stream left open does not keep everyone else
 * from talking; a busy camera is logged once per turn, not per packet.
 */
export class TalkRelay {
  readonly #source: RtspSourceHandleLike;
  readonly #talkerId: string;
  readonly #log: Logger;
  readonly #opts: Required<TalkRelayOptions>;
  #session: TalkSessionLike | undefined;
  #idle: NodeJS.Timeout | undefined;
  #busyUntil = 0;
  #closed = false;

  constructor(source: RtspSourceHandleLike, talkerId: string, log: Logger, opts: TalkRelayOptions = {}) {
    this.#source = source;
    this.#talkerId = talkerId;
    this.#log = log;
    this.#opts = { ...DEFAULT_TALK_RELAY_OPTIONS, ...opts };
  }

  /** True while this talker holds the camera's talk lock. */
  get talking(): boolean {
    return this.#session !== undefined;
  }

  push(packet: Buffer, timestamp48k: number): void {
    if (this.#closed || !this.#source.openTalk) return;
    if (!this.#session) {
      if (Date.now() < this.#busyUntil) return;
      try {
        this.#session = this.#source.openTalk(this.#talkerId);
        this.#log.info('talking to the camera');
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 'CAMGATE_ENGINE_NO_BACKCHANNEL') {
          // Nothing will change while this link lasts: say it once and stop trying.
          this.#log.warn('this camera has no speaker (no ONVIF back channel); voice dropped');
          this.#closed = true;
          return;
        }
        this.#busyUntil = Date.now() + this.#opts.busyRetryMs;
        this.#log.warn(
          code === 'CAMGATE_ENGINE_TALK_BUSY'
            ? 'someone else is talking to this camera; voice dropped'
            : 'could not talk to the camera',
          { err },
        );
        return;
      }
    }
    this.#session.pushOpus(packet, timestamp48k);
    if (this.#idle) this.#idle.refresh();
    else {
      this.#idle = setTimeout(() => this.#release(), this.#opts.idleMs);
      this.#idle.unref();
    }
  }

  #release(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    try {
      session.close();
    } catch (err) {
      this.#log.debug('closing the talk session failed', { err });
    }
  }

  /** Gives the lock back and takes no more voice. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#release();
  }
}
