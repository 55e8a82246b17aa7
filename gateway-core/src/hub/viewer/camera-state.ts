/**
 * The camera's state as the viewer tile shows it, from the built-in engine's
 * `CameraStateChanged` event on the PlayerEndpoint (docs/engine.md, "Camera
 * state"). The event comes from the gateway, so it is treated as network
 * input: only known states and reasons pass, a notice is cut to a sentence.
 */
import type { JsonObject } from '../../kurento/index.js';

export type TileCameraState = 'connecting' | 'live' | 'reconnecting' | 'unreachable';

export interface TileCameraStatus {
  state: TileCameraState;
  /** One of REASONS (plain words). */
  reason?: string;
  /** A stream notice (transcoding, B-frames dropped…), at most MAX_NOTICE_CHARS. */
  notice?: { code: string; message: string };
  final: boolean;
}

const STATES = new Set<string>(['connecting', 'live', 'reconnecting', 'unreachable']);

/** The reasons the engine gives (engine/media/camera-status.ts plainReason); anything else reads "camera error". */
const REASONS = new Set<string>([
  'wrong password',
  'no stream at this address',
  'unsupported stream',
  'refused',
  'no answer',
  'stopped sending video',
  'connection dropped',
  'camera error',
]);

const MAX_NOTICE_CHARS = 300;

/** Texts for the tile's state line. */
export const CAMERA_STATE_TEXT = {
  reconnecting: 'Camera lost — reconnecting…',
  unreachable: (reason: string): string => `Camera unreachable: ${reason}`,
  back: 'Camera back — waiting for video…',
} as const;

/** The event's data, validated; undefined when it is not a camera state. */
export function parseCameraState(data: JsonObject): TileCameraStatus | undefined {
  const state = data.state;
  if (typeof state !== 'string' || !STATES.has(state)) return undefined;
  const out: TileCameraStatus = { state: state as TileCameraState, final: data.final === true };
  if (typeof data.reason === 'string') out.reason = REASONS.has(data.reason) ? data.reason : 'camera error';
  const n = data.notice;
  if (typeof n === 'object' && n !== null && !Array.isArray(n)) {
    const code = typeof n.code === 'string' && /^CAMGATE_[A-Z0-9_]{1,60}$/.test(n.code) ? n.code : undefined;
    const message = typeof n.message === 'string' ? printable(n.message).slice(0, MAX_NOTICE_CHARS) : '';
    if (code && message) out.notice = { code, message };
  }
  return out;
}

function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}
