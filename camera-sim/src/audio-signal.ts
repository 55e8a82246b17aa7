/**
 * What the simulated camera's microphone hears, and the sync marks shared
 * with the picture. Everything is a pure function of the sample (or frame)
 * number on the camera's clock, so the G.711 path computes samples as they
 * are due and the AAC path can encode one whole period ahead of time.
 *
 * Timing contract of the sync marks (`syncMarks: { everySeconds: N }`):
 * mark m (m = 0, 1, 2, …) is at camera time m·N seconds after the camera
 * started. Video frame m·N·fps is the first bright frame (the whole picture
 * white, Y = 235) and the flash lasts `syncFlashFrames(fps)` frames (100 ms,
 * rounded up to whole frames); audio sample m·N·rate is the first sample of
 * the beep, which lasts `SYNC_BEEP_MS` (the tone; silence between beeps).
 * Both are stamped with the same capture time in the RTCP sender reports.
 */

/** Length of a sync-mark beep, and of the flash (rounded up to whole frames). */
export const SYNC_BEEP_MS = 100;
/** Peak amplitude of the tone, as a fraction of full scale: -6 dBFS, far from clipping after lossy coding. */
export const TONE_AMPLITUDE = 0.5;

export interface AudioSignalSpec {
  /** Samples per second. */
  sampleRate: number;
  /** Tone frequency in Hz, an integer so that the tone repeats every second exactly. */
  toneHz: number;
  /** Seconds between sync marks (integer); without it the tone is continuous. */
  syncEverySeconds?: number;
}

/** Samples after which the signal repeats: one second for the tone, N seconds with sync marks. */
export function signalPeriodSamples(spec: AudioSignalSpec): number {
  return spec.sampleRate * (spec.syncEverySeconds ?? 1);
}

/** Writes samples `first`, `first+1`, … of the signal into `out` (16-bit). */
export function fillSignal(spec: AudioSignalSpec, first: number, out: Int16Array): Int16Array {
  const rate = spec.sampleRate;
  const period = spec.syncEverySeconds === undefined ? undefined : spec.syncEverySeconds * rate;
  const beep = Math.round((SYNC_BEEP_MS * rate) / 1000);
  const peak = TONE_AMPLITUDE * 32767;
  for (let i = 0; i < out.length; i++) {
    const k = first + i;
    if (period !== undefined && k % period >= beep) {
      out[i] = 0;
      continue;
    }
    // Integer phase (k·f mod rate) keeps the tone exact however long the camera runs.
    const phase = ((k % rate) * spec.toneHz) % rate;
    out[i] = Math.round(peak * Math.sin((2 * Math.PI * phase) / rate));
  }
  return out;
}

/** Frames the flash lasts: 100 ms worth, at least one. */
export function syncFlashFrames(fps: number): number {
  return Math.max(1, Math.ceil((fps * SYNC_BEEP_MS) / 1000));
}

/** True when video frame `n` is one of a sync mark's bright frames. */
export function isFlashFrame(n: number, fps: number, everySeconds: number): boolean {
  return n % (everySeconds * fps) < syncFlashFrames(fps);
}
