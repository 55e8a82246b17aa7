/**
 * A camera entry's sound options, which only this plugin reads (core's
 * camera schema is shared with the gateway and the hub, which have no use for
 * them): `audio` — the camera's sound in Apple Home, on by default; `talkBack`
 * — HomeKit's two-way audio to the camera's speaker (ONVIF back channel), off
 * by default, as the hub's per-user talk permission is.
 */
export interface CameraSound {
  audio: boolean;
  talkBack: boolean;
}

export const DEFAULT_CAMERA_SOUND: Readonly<CameraSound> = { audio: true, talkBack: false };

/** The keys of a camera entry read here, not by core's camera schema. */
export const CAMERA_SOUND_KEYS: ReadonlySet<string> = new Set(['audio', 'talkBack']);

/** Reads `audio` and `talkBack` of a camera entry; a wrong type is a problem named by its path, and the default holds. */
export function readCameraSound(entry: unknown, path: string, problems: string[]): CameraSound {
  const o =
    typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : {};
  const flag = (key: keyof CameraSound): boolean => {
    const v = o[key];
    if (v === undefined || v === '') return DEFAULT_CAMERA_SOUND[key];
    if (typeof v === 'boolean') return v;
    problems.push(`${path}.${key}: must be true or false; using ${String(DEFAULT_CAMERA_SOUND[key])}`);
    return DEFAULT_CAMERA_SOUND[key];
  };
  const sound = { audio: flag('audio'), talkBack: flag('talkBack') };
  // Talking without hearing would leave the person unable to hear the answer: talk-back implies sound.
  if (sound.talkBack && !sound.audio) {
    problems.push(`${path}.talkBack: needs audio on (HomeKit's two-way audio is part of the sound); talk-back is off`);
    sound.talkBack = false;
  }
  return sound;
}
