/**
 * Sync marks as a player sees them: FFmpeg pulls the camera over RTSP,
 * places both tracks on one timeline from the RTCP sender reports (as
 * browsers do), decodes them, and the white flash and the beep of each mark
 * start within one frame of each other — with G.711 and with AAC, whose
 * encoder priming the camera compensates for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCameraSim, syncFlashFrames, SYNC_BEEP_MS } from '../src/index.js';
import { runBounded, s16 } from './helpers/audio-sim.js';

interface Decoded {
  /** Presentation time (s) of each video frame and its mean luma. */
  video: { t: number; luma: number }[];
  /** Presentation time (s) of each audio frame and its sample count, in the order of `pcm`. */
  audio: { t: number; samples: number }[];
  pcm: Int16Array;
}

/** Decodes `seconds` of both tracks; showinfo/ashowinfo report each frame's time on FFmpeg's common timeline. */
async function decodeBoth(url: string, seconds: number): Promise<Decoded> {
  const t = String(seconds);
  const args = ['-hide_banner', '-loglevel', 'info', '-rtsp_transport', 'tcp', '-timeout', '20000000', '-i', url];
  args.push('-t', t, '-map', '0:v', '-vf', 'showinfo', '-f', 'null', '-');
  args.push('-t', t, '-map', '0:a', '-af', 'ashowinfo', '-f', 's16le', '-ac', '1', 'pipe:1');
  const r = await runBounded('ffmpeg', args, 90_000);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const video: Decoded['video'] = [];
  const audio: Decoded['audio'] = [];
  for (const line of r.stderr.split('\n')) {
    const v = /Parsed_showinfo_\d.*pts_time:\s*([\d.]+).*mean:\[(\d+)/.exec(line);
    if (v) video.push({ t: Number(v[1]), luma: Number(v[2]) });
    const a = /Parsed_ashowinfo_\d.*pts_time:\s*([\d.]+).*nb_samples:\s*(\d+)/.exec(line);
    if (a) audio.push({ t: Number(a[1]), samples: Number(a[2]) });
  }
  return { video, audio, pcm: s16(r.stdout) };
}

/** Times (s) of the first bright frame after a normal one. */
function flashOnsets(d: Decoded): number[] {
  return d.video.filter((f, i) => i > 0 && f.luma > 200 && d.video[i - 1]!.luma <= 200).map((f) => f.t);
}

/** Times (s) of the first loud sample after at least 50 ms of quiet. */
function beepOnsets(d: Decoded, rate: number): number[] {
  const out: number[] = [];
  let quiet = 0;
  let offset = 0;
  for (const frame of d.audio) {
    for (let i = 0; i < frame.samples; i++) {
      if (Math.abs(d.pcm[offset + i] ?? 0) < 3000) quiet++;
      else {
        if (quiet >= rate / 20) out.push(frame.t + i / rate);
        quiet = 0;
      }
    }
    offset += frame.samples;
  }
  return out;
}

describe('camera-sim sync marks', () => {
  it('flashes for 100 ms worth of whole frames', () => {
    assert.equal(SYNC_BEEP_MS, 100);
    assert.equal(syncFlashFrames(25), 3);
    assert.equal(syncFlashFrames(30), 3);
    assert.equal(syncFlashFrames(5), 1);
  });

  for (const codec of ['PCMA', 'AAC'] as const) {
    it(`${codec}: FFmpeg finds each flash and its beep within one frame of each other`, async (t) => {
      const fps = 25;
      const s = await startCameraSim({
        width: 320,
        height: 240,
        fps,
        gopSeconds: 30,
        audio: { codec },
        syncMarks: { everySeconds: 1 },
      });
      t.after(() => s.close());
      const d = await decodeBoth(s.url, 4.5);
      assert.ok(d.video.length > 50 && d.audio.length > 10, `${d.video.length} frames, ${d.audio.length} audio frames`);
      const flashes = flashOnsets(d);
      const beeps = beepOnsets(d, s.audio!.sampleRate);
      assert.ok(flashes.length >= 3, `flashes at ${flashes.join(', ')}`);
      assert.ok(beeps.length >= 3, `beeps at ${beeps.join(', ')}`);
      // Each beep has its flash within one frame (40 ms at 25 fps). (FFmpeg may place the very first picture
      // oddly while its timeline settles, so flashes are matched to beeps, not the other way round.)
      const seen = `flashes at ${flashes.map((f) => f.toFixed(3)).join(', ')}; beeps at ${beeps.map((b) => b.toFixed(3)).join(', ')}`;
      t.diagnostic(seen);
      for (let i = 1; i < beeps.length; i++) assert.ok(Math.abs(beeps[i]! - beeps[i - 1]! - 1) < 0.01, seen);
      for (const b of beeps) {
        const offset = Math.min(...flashes.map((f) => Math.abs(f - b)));
        assert.ok(
          offset <= 1 / fps,
          `beep at ${b.toFixed(3)} s, nearest flash ${(offset * 1000).toFixed(1)} ms away; ${seen}`,
        );
      }
    });
  }
});
