/**
 * One camera entry of the platform config. Users often start from an entry
 * of homebridge-camera-ffmpeg (the most used camera plugin), which carries
 * keys this plugin has no use for (`videoConfig`, `motion`, `doorbell`,
 * `unbridge`, …) and empty strings where a field was left blank in the config
 * UI. Such an entry is accepted: the unknown keys and the empty optional
 * fields are dropped with one warning naming them, and what is left is checked
 * by @camgate/core's `cameraSchema` (the same rules as the gateway's cameras).
 */
import { cameraSchema, type CameraConfig } from '@camgate/core';
import { CAMERA_SOUND_KEYS } from './camera-sound.js';

/** The keys core's camera schema knows; anything else in an entry is someone else's. */
const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(cameraSchema.shape));
/** Fields that cannot be left out: an empty one is a mistake to report, not a blank to drop. */
const REQUIRED_KEYS: ReadonlySet<string> = new Set(['id', 'name', 'url']);
/** Key names are from users' files: keep the warning line short and printable. */
const MAX_LISTED_KEYS = 20;
const printableKey = (k: string): string => JSON.stringify(k.slice(0, 64)).slice(1, -1);

/**
 * A camera entry as core's schema accepts it, or undefined (problems pushed with `path`). Unknown keys and empty
 * optional strings go into one warning line; values are never echoed (a copied `videoConfig.source` holds
 * the camera's password).
 */
export function readCameraEntry(
  entry: unknown,
  path: string,
  problems: string[],
  warnings: string[],
): CameraConfig | undefined {
  let candidate = entry;
  if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    const kept: Record<string, unknown> = {};
    const unknown: string[] = [];
    const blank: string[] = [];
    for (const [k, v] of Object.entries(entry)) {
      if (CAMERA_SOUND_KEYS.has(k)) continue; // this plugin's own keys (camera-sound.ts)
      if (!KNOWN_KEYS.has(k)) unknown.push(k);
      else if (v === '' && !REQUIRED_KEYS.has(k)) blank.push(k);
      else kept[k] = v;
    }
    const parts: string[] = [];
    if (unknown.length > 0) {
      const listed = unknown.slice(0, MAX_LISTED_KEYS).map(printableKey).join(', ');
      const more = unknown.length > MAX_LISTED_KEYS ? ` and ${unknown.length - MAX_LISTED_KEYS} more` : '';
      parts.push(`ignored keys this plugin does not use: ${listed}${more}`);
    }
    if (blank.length > 0) parts.push(`empty fields treated as not set: ${blank.join(', ')}`);
    if (parts.length > 0) warnings.push(`${path}: ${parts.join('; ')}`);
    candidate = kept;
  }
  const r = cameraSchema.safeParse(candidate);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    problems.push(`${path}${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
  }
  return undefined;
}
