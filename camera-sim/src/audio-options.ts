/** The simulated camera's sound options (`audio`, `backchannel`, `syncMarks`), their defaults and validation. */
import { SIM_AUDIO_CODECS, type SimAudioCodec } from './audio-track.js';

export interface CameraSimAudioOptions {
  /** `PCMA`/`PCMU`: G.711 at 8000 Hz; `AAC`: AAC-LC (RFC 3640 AAC-hbr), encoded once at start by FFmpeg. */
  codec: SimAudioCodec;
  /** Frequency of the sine tone in Hz (an integer below half the sample rate). */
  toneHz?: number;
  /** Samples per second: 8000 for G.711; 8000, 16000, 32000 or 48000 for AAC. */
  sampleRate?: number;
}

export interface CameraSimBackchannelOptions {
  /** What the camera's ONVIF back channel accepts. */
  codec: SimAudioCodec;
  /** Samples per second: 8000 for G.711; 8000, 16000, 32000 or 48000 for AAC. */
  sampleRate?: number;
}

export interface CameraSimSyncMarkOptions {
  /** Seconds between marks: a white flash in the picture and a beep in the audio at the same instant (1..60). */
  everySeconds: number;
}

export const DEFAULT_CAMERA_SIM_AUDIO_OPTIONS = {
  toneHz: 1000, // Hz, the test tone of audio gear
  aacSampleRate: 16000, // Hz, mono: what many cameras' AAC microphones send
  g711SampleRate: 8000, // Hz, fixed by G.711 and RFC 3551
  backchannelSeconds: 60, // seconds of back-channel audio kept
} as const;

/** AAC rates whose loop (a whole number of 1024-sample frames and of signal periods) stays short. */
export const AAC_SAMPLE_RATES: readonly number[] = [8000, 16000, 32000, 48000];

function checkCodecAndRate(name: string, o: unknown): { codec: SimAudioCodec; sampleRate?: unknown } {
  if (o === null || typeof o !== 'object') throw new TypeError(`${name} must be an object { codec, … }`);
  const { codec, sampleRate } = o as { codec?: unknown; sampleRate?: unknown };
  if (!SIM_AUDIO_CODECS.includes(codec as SimAudioCodec)) {
    throw new RangeError(`${name}.codec must be one of ${SIM_AUDIO_CODECS.join(', ')}, got ${String(codec)}`);
  }
  if (sampleRate !== undefined) {
    if (typeof sampleRate !== 'number') throw new TypeError(`${name}.sampleRate must be a number`);
    const allowed = codec === 'AAC' ? AAC_SAMPLE_RATES : [DEFAULT_CAMERA_SIM_AUDIO_OPTIONS.g711SampleRate];
    if (!allowed.includes(sampleRate)) {
      throw new RangeError(
        `${name}.sampleRate for ${String(codec)} must be one of ${allowed.join(', ')}, got ${sampleRate}`,
      );
    }
  }
  return { codec: codec as SimAudioCodec, sampleRate };
}

/** The sample rate an audio option resolves to. */
export function sampleRateOf(o: { codec: SimAudioCodec; sampleRate?: number }): number {
  const d = DEFAULT_CAMERA_SIM_AUDIO_OPTIONS;
  return o.sampleRate ?? (o.codec === 'AAC' ? d.aacSampleRate : d.g711SampleRate);
}

/** Throws TypeError/RangeError naming the option, as the other camera options do. */
export function validateSoundOptions(o: { audio?: unknown; backchannel?: unknown; syncMarks?: unknown }): void {
  if (o.audio !== undefined) {
    const { codec } = checkCodecAndRate('audio', o.audio);
    const a = o.audio as CameraSimAudioOptions;
    if (a.toneHz !== undefined) {
      if (typeof a.toneHz !== 'number') throw new TypeError('audio.toneHz must be a number');
      const nyquist = sampleRateOf({ codec, ...(a.sampleRate ? { sampleRate: a.sampleRate } : {}) }) / 2;
      if (!Number.isInteger(a.toneHz) || a.toneHz < 1 || a.toneHz >= nyquist) {
        throw new RangeError(`audio.toneHz must be an integer 1..${nyquist - 1}, got ${a.toneHz}`);
      }
    }
  }
  if (o.backchannel !== undefined) checkCodecAndRate('backchannel', o.backchannel);
  if (o.syncMarks !== undefined) {
    const s = o.syncMarks as { everySeconds?: unknown } | null;
    if (s === null || typeof s !== 'object') throw new TypeError('syncMarks must be an object { everySeconds }');
    if (typeof s.everySeconds !== 'number') throw new TypeError('syncMarks.everySeconds must be a number');
    if (!Number.isInteger(s.everySeconds) || s.everySeconds < 1 || s.everySeconds > 60) {
      throw new RangeError(`syncMarks.everySeconds must be an integer 1..60, got ${s.everySeconds}`);
    }
  }
}
