/**
 * `bench:media`'s AAC row (issue 15): a camera that sends AAC audio beside its video, watched by one
 * Chromium viewer through the engine. The engine transcodes AAC to Opus in one FFmpeg child per camera,
 * so the row's CPU is the engine's process plus that child's, over the same window as the other rows.
 * Lip sync is measured where a person would notice it, in the browser: the simulator flashes the
 * picture and beeps at the same capture instant every 2 s (`syncMarks`), and the page notes when it
 * shows each flash and hears each beep (`AV_SYNC_VIEWER_HTML`). Offset = beep − flash.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCameraSim } from '@camgate/camera-sim';
import {
  AV_SYNC_VIEWER_HTML,
  launchChromium,
  measureAvOffsets,
  openAudioViewer,
  type AudioViewer,
  servePage,
  waitUntil,
} from '@camgate/test-helpers';
import kurentoClient from 'kurento-client';
import { median, round, sample } from './proc-sample.js';

const MARKS = 16; // sync marks watched, 2 s apart
const KEPT_MARKS = 10; // the last ones: Chromium's jitter buffers settle over the first seconds

export interface AacRow {
  /** Engine + its FFmpeg child, % of one core, one 720p25 viewer of an H.264 + AAC camera. */
  aac_cpu_pct_per_stream: number;
  /** The FFmpeg child alone (AAC → Opus). */
  aac_ffmpeg_cpu_pct: number;
  /** Median of beep − flash in the browser, ms; positive: the sound comes late. */
  av_offset_ms: number;
  av_offset_ms_marks: number[];
}

export interface AacRowOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  client: any; // a kurento-client connected to the engine
  enginePid: number;
  windowMs: number;
  out: (line: string) => void;
}

/** The engine's FFmpeg children (their parent pid is the engine's), from /proc. */
function ffmpegChildren(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && comm === 'ffmpeg') pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export async function measureAacRow(o: AacRowOptions): Promise<AacRow> {
  const cpu = await watchAacCamera(o, 1280, 720, async (_viewer, ffmpegPid) => {
    await sleep(2_000);
    const [both, alone] = await Promise.all([
      sample([o.enginePid, ffmpegPid], o.windowMs),
      sample(ffmpegPid, o.windowMs),
    ]);
    o.out(
      `  AAC camera 1280x720, one viewer: engine + FFmpeg ${round(both.cpuPct, 2)} % CPU ` +
        `(FFmpeg AAC→Opus ${round(alone.cpuPct, 2)} %)`,
    );
    return { both: round(both.cpuPct, 2), alone: round(alone.cpuPct, 2) };
  });
  // The offset on a smaller picture: at 720p a headless Chromium on a busy 2-core host skips presenting some
  // of the three flash frames (requestVideoFrameCallback never sees them), and a missed flash is no figure.
  const marks = await watchAacCamera(o, 640, 360, (viewer) =>
    measureAvOffsets(viewer, MARKS, KEPT_MARKS, 3 * MARKS * 2_000),
  );
  const offset = round(median(marks), 0);
  o.out(`  A/V offset in Chromium, 640x360 (beep − flash): median ${offset} ms  [${marks.join(', ')}]`);
  return {
    aac_cpu_pct_per_stream: cpu.both,
    aac_ffmpeg_cpu_pct: cpu.alone,
    av_offset_ms: offset,
    av_offset_ms_marks: marks,
  };
}

/** Plays an H.264 + AAC simulated camera with sync marks to one Chromium viewer through the engine, runs `use`. */
async function watchAacCamera<T>(
  o: AacRowOptions,
  width: number,
  height: number,
  use: (viewer: AudioViewer, ffmpegPid: number) => Promise<T>,
): Promise<T> {
  const closers: (() => unknown)[] = [];
  try {
    const cam = await startCameraSim({
      username: 'bench',
      password: 'aac-bench-camera',
      width,
      height,
      fps: 25,
      gopSeconds: 4,
      audio: { codec: 'AAC', toneHz: 1000 },
      syncMarks: { everySeconds: 2 },
    });
    closers.push(() => cam.close());
    const site = await servePage(AV_SYNC_VIEWER_HTML);
    closers.push(() => site.close());
    const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
    closers.push(() => browser.close());

    const pipeline = await o.client.create('MediaPipeline');
    closers.push(() => pipeline.release());
    const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
    const webrtc = await pipeline.create('WebRtcEndpoint');
    const viewer = await openAudioViewer(browser, site.url, (c) => {
      webrtc.addIceCandidate(kurentoClient.getComplexType('IceCandidate')(c)).catch(() => undefined);
    });
    webrtc.on('IceCandidateFound', (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } }) => {
      const { candidate, sdpMid, sdpMLineIndex } = e.candidate;
      viewer.addCandidate({ candidate, sdpMid, sdpMLineIndex }).catch(() => undefined);
    });
    await player.connect(webrtc); // audio and video (Kurento's default)
    await viewer.answer(await webrtc.processOffer(await viewer.offer()));
    await webrtc.gatherCandidates();
    await player.play();
    await waitUntil(
      async () => {
        const s = await viewer.stats();
        return s.framesDecoded > 25 && s.audioPackets > 50;
      },
      'video and AAC→Opus audio in Chromium',
      60_000,
    );
    const ffmpeg = ffmpegChildren(o.enginePid);
    if (ffmpeg.length !== 1) throw new Error(`expected one FFmpeg child of the engine, found ${ffmpeg.length}`);
    return await use(viewer, ffmpeg[0]!);
  } finally {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch {
        // keep closing the rest
      }
    }
  }
}
