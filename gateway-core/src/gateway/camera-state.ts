/**
 * Each camera's state as the gateway reports it to Node-RED, MQTT and the
 * Homebridge log (Gateway `cameraState` event). The gateway learns it from
 * its own session on the media backend (keep-warm.ts): the built-in engine's
 * CameraStateChanged on each warm player (docs/engine.md, "Camera state").
 * With keepWarm off (or KMS under `auto`) the gateway holds no player, so it
 * knows nothing it could honestly report: every camera is then `idle`
 * ("not pulled unless someone watches"), documented in docs/mqtt.md.
 */
import type { JsonObject } from '../kurento/index.js';

export type GatewayCameraStateName = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'unreachable';

export interface GatewayCameraState {
  cameraId: string;
  state: GatewayCameraStateName;
  /** Plain words (refused, no answer, wrong password, unsupported stream…) for `unreachable`/`reconnecting`. */
  reason?: string;
  /** A stream notice from the engine (transcoding, B-frames dropped…): plain words, no secrets. */
  notice?: { code: string; message: string };
}

const ENGINE_STATES = new Set(['connecting', 'live', 'reconnecting', 'unreachable']);
const MAX_TEXT = 300;

/** A CameraStateChanged event's data as a GatewayCameraState; undefined when it is not one. */
export function cameraStateFromEvent(cameraId: string, data: JsonObject): GatewayCameraState | undefined {
  if (typeof data.state !== 'string' || !ENGINE_STATES.has(data.state)) return undefined;
  const out: GatewayCameraState = { cameraId, state: data.state as GatewayCameraStateName };
  if (typeof data.reason === 'string') out.reason = data.reason.slice(0, MAX_TEXT);
  const n = data.notice;
  if (typeof n === 'object' && n !== null && !Array.isArray(n) && typeof n.code === 'string') {
    if (typeof n.message === 'string')
      out.notice = { code: n.code.slice(0, 64), message: n.message.slice(0, MAX_TEXT) };
  }
  return out;
}

/** Whether two states read the same to a person (so a repeat is not reported again). */
export function sameCameraState(a: GatewayCameraState | undefined, b: GatewayCameraState): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.reason === b.reason &&
    a.notice?.code === b.notice?.code &&
    a.notice?.message === b.notice?.message
  );
}
