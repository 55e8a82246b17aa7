import { KurentoRpcError } from './errors.js';
import { isPlainObject, requireString, type Params } from './params.js';

/**
 * What the engine does with a camera's video (browsers cannot decode
 * H.265, and Chromium's WebRTC H.264 decoder does not take reordered frames):
 * - `auto`: forward H.264 without B-frames untouched; transcode what a browser cannot play;
 * - `never`: never start a transcoder (B-frame streams lose their non-reference frames instead);
 * - `always`: transcode every stream of this camera.
 */
export const TRANSCODE_MODES = ['auto', 'never', 'always'] as const;
export type TranscodeMode = (typeof TRANSCODE_MODES)[number];

/** What a gateway tells its engine about one camera. Never the camera's credentials beyond its URI. */
export interface CameraProfile {
  /** The gateway's camera id: every camera-level log line of the engine names it. */
  cameraId: string;
  transcode: TranscodeMode;
}

/** Camera ids follow the gateway config's id rule (config/schema.ts). */
const CAMERA_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
/** A home has at most 256 cameras (config/schema.ts). */
export const MAX_CAMERA_PROFILES = 256;
const MAX_URI_CHARS = 2048;

/**
 * Reads `setCameraProfiles`' operationParams: `{ cameras: [{ uri, cameraId, transcode? }] }`.
 * The method is the engine's own extension of the ServerManager: the gateway calls it on its own
 * connection to the backend; the Kurento policy never lets the hub call it.
 */
export function parseCameraProfiles(p: Params): Map<string, CameraProfile> {
  const list = p.cameras;
  if (!Array.isArray(list)) throw new KurentoRpcError('MARSHALL_ERROR', "'cameras' parameter should be an array");
  if (list.length > MAX_CAMERA_PROFILES) {
    throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `'cameras' holds more than ${MAX_CAMERA_PROFILES}`);
  }
  const out = new Map<string, CameraProfile>();
  list.forEach((entry: unknown, i) => {
    if (!isPlainObject(entry)) throw new KurentoRpcError('MARSHALL_ERROR', `'cameras[${i}]' should be an object`);
    const uri = requireString(entry, 'uri', MAX_URI_CHARS);
    const cameraId = requireString(entry, 'cameraId', 63);
    if (!CAMERA_ID.test(cameraId)) {
      throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `'cameras[${i}].cameraId' is not a camera id`);
    }
    const transcode = entry.transcode ?? 'auto';
    if (typeof transcode !== 'string' || !(TRANSCODE_MODES as readonly string[]).includes(transcode)) {
      throw new KurentoRpcError(
        'MARSHALL_ERROR',
        `'cameras[${i}].transcode' should be one of ${TRANSCODE_MODES.join(', ')}`,
      );
    }
    out.set(uri, { cameraId, transcode: transcode as TranscodeMode });
  });
  return out;
}
