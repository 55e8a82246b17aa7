/**
 * Audio checks for tests: which frequency dominates a stretch of PCM, and
 * where a tone starts. A windowed single-bin DFT (Goertzel's recurrence)
 * scanned bin by bin, then refined around the peak — plain arithmetic, no
 * FFT library, fast enough for a few seconds of audio.
 */

/** Power of frequency `hz` in `x` (Hann-windowed), by Goertzel's recurrence. */
export function tonePower(x: ArrayLike<number>, sampleRate: number, hz: number): number {
  const n = x.length;
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)); // Hann window: little leakage between bins
    const s0 = x[i]! * w + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

export interface DominantFrequencyOptions {
  /** Lowest frequency considered, Hz (default 50: below it is hum and DC). */
  minHz?: number;
  /** Most samples analysed, taken from the middle of `pcm` (default 8192). */
  maxSamples?: number;
}

/**
 * The frequency (Hz) with the most power in `pcm`, to within about one
 * Hz. Throws on silence or on fewer than 256 samples, so a test cannot pass
 * by finding a "peak" in nothing.
 */
export function dominantFrequency(
  pcm: ArrayLike<number>,
  sampleRate: number,
  opts: DominantFrequencyOptions = {},
): number {
  const minHz = opts.minHz ?? 50;
  const max = opts.maxSamples ?? 8192;
  if (pcm.length < 256) throw new Error(`dominantFrequency: ${pcm.length} samples are too few (need 256)`);
  const n = Math.min(pcm.length, max);
  const start = Math.floor((pcm.length - n) / 2);
  const x = new Float64Array(n);
  let energy = 0;
  for (let i = 0; i < n; i++) {
    x[i] = pcm[start + i]!;
    energy += x[i]! * x[i]!;
  }
  if (Math.sqrt(energy / n) < 1) throw new Error('dominantFrequency: the audio is silent');
  const bin = sampleRate / n;
  let best = minHz;
  let bestPower = -1;
  for (let f = Math.max(bin, minHz); f < sampleRate / 2; f += bin) {
    const p = tonePower(x, sampleRate, f);
    if (p > bestPower) [best, bestPower] = [f, p];
  }
  // Refine within ±1 bin in tenths of a bin.
  let fine = best;
  for (let f = best - bin; f <= best + bin; f += bin / 10) {
    const p = tonePower(x, sampleRate, f);
    if (p > bestPower) [fine, bestPower] = [f, p];
  }
  return fine;
}

/** Index of the first sample at or after `from` whose magnitude reaches `threshold`; -1 when none does. */
export function firstLoudSample(pcm: ArrayLike<number>, threshold: number, from = 0): number {
  for (let i = from; i < pcm.length; i++) if (Math.abs(pcm[i]!) >= threshold) return i;
  return -1;
}
