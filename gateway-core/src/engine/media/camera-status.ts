import type { CamgateError } from '../../util/index.js';

/**
 * What a person is told about a camera (issue 11, "honest camera states"):
 * - `connecting`: first connection to the camera, nothing known yet;
 * - `live`: the camera is sending video;
 * - `reconnecting`: the picture stopped (the camera closed its connection or
 *   sent nothing for `stallTimeoutMs`) and the engine is reconnecting;
 * - `unreachable`: a connection attempt failed (`reason` says why, in plain
 *   words); retries continue unless the reason is one a retry cannot fix
 *   (`final`: wrong password, no such stream, unsupported stream).
 */
export type CameraState = 'connecting' | 'live' | 'reconnecting' | 'unreachable';

export interface CameraStatus {
  state: CameraState;
  /** Plain words for `unreachable` (and why a camera was lost, for `reconnecting`). */
  reason?: string;
  /** The RTSP error code behind `reason` (`CAMGATE_RTSP_*`). */
  code?: string;
  /** True when the engine stopped retrying (a retry cannot fix the reason). */
  final?: boolean;
}

/**
 * How long a lost camera stays `reconnecting` while reconnection attempts fail before it is
 * called `unreachable`: a camera that reboots is back in a few seconds, and "lost — reconnecting"
 * is the honest word for that; one that stays away gets its reason well within the 10 s the issue asks.
 */
export const LOST_GRACE_MS = 5_000;

/** A `CAMGATE_RTSP_*` error in the few words a tile has room for. Never echoes the error's message (it may name hosts). */
export function plainReason(error: CamgateError | undefined): string {
  const code = error?.code ?? '';
  const msg = error?.message ?? '';
  switch (code) {
    case 'CAMGATE_RTSP_AUTH':
      return 'wrong password';
    case 'CAMGATE_RTSP_NOT_FOUND':
      return 'no stream at this address';
    case 'CAMGATE_RTSP_UNSUPPORTED':
      return 'unsupported stream';
    case 'CAMGATE_RTSP_CONNECT':
      // Node's connect errors: ECONNREFUSED = something answered "no"; timeouts and unreachable hosts = silence.
      return /ECONNREFUSED|refused/i.test(msg) ? 'refused' : 'no answer';
    case 'CAMGATE_RTSP_TIMEOUT':
      return 'no answer';
    case 'CAMGATE_RTSP_STALLED':
      return 'stopped sending video';
    case 'CAMGATE_RTSP_DISCONNECTED':
      return 'connection dropped';
    default:
      return 'camera error';
  }
}

/**
 * Turns the RTSP client's states (connecting, playing, retrying, failed) and
 * `media` (the first access unit of a session) into a CameraStatus. `update` returns the new status, or undefined when nothing a
 * person sees changed (each retry of an unreachable camera is not news).
 */
export class CameraStatusTracker {
  #status: CameraStatus = { state: 'connecting' };
  #lostAt = 0;
  readonly #now: () => number;
  readonly #graceMs: number;

  constructor(opts: { now?: () => number; lostGraceMs?: number } = {}) {
    this.#now = opts.now ?? (() => performance.now());
    this.#graceMs = opts.lostGraceMs ?? LOST_GRACE_MS;
  }

  get status(): CameraStatus {
    return { ...this.#status };
  }

  update(clientState: string, error: CamgateError | undefined): CameraStatus | undefined {
    const prev = this.#status;
    let next: CameraStatus;
    switch (clientState) {
      case 'playing':
        // PLAY was answered, but a camera is live only once video arrives ('media'): a hung camera answers
        // RTSP and sends nothing. One that was unreachable is now at least answering.
        next = prev.state === 'unreachable' ? { state: 'connecting' } : prev;
        break;
      case 'media':
        next = { state: 'live' };
        break;
      case 'connecting':
        // Each new attempt is not news: a lost or unreachable camera keeps its state until it answers.
        next = prev.state === 'live' ? { state: 'reconnecting' } : prev;
        break;
      case 'retrying': {
        const reason = plainReason(error);
        const code = error?.code;
        if (prev.state === 'live') {
          this.#lostAt = this.#now();
          next = { state: 'reconnecting', reason, ...(code ? { code } : {}) };
        } else if (prev.state === 'reconnecting' && this.#now() - this.#lostAt < this.#graceMs) {
          next = prev;
        } else {
          next = { state: 'unreachable', reason, ...(code ? { code } : {}) };
        }
        break;
      }
      case 'failed':
        next = {
          state: 'unreachable',
          reason: plainReason(error),
          final: true,
          ...(error ? { code: error.code } : {}),
        };
        break;
      default:
        return undefined;
    }
    if (sameStatus(prev, next)) return undefined;
    this.#status = next;
    return { ...next };
  }
}

function sameStatus(a: CameraStatus, b: CameraStatus): boolean {
  return a.state === b.state && a.reason === b.reason && a.final === b.final;
}
