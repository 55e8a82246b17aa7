/**
 * `npm run bench:media [-- --json] [-- --quick | --aac-only]`: what one forwarded camera
 * costs the built-in engine, beside Janus and the real Kurento Media Server,
 * and how fast a viewer sees the first picture.
 *
 * - camera: the simulator at 1280x720, 25 fps, an IDR every 4 s (a real camera's GOP);
 * - engine: alone in a child process (test/bench/media-engine-child.ts), so
 *   /proc/<pid>/stat utime+stime and /proc/<pid>/status VmRSS are its own;
 * - first frame: tabs of one headless Chromium that decode and present (what a person sees),
 *   driven with the official kurento-client (engine, KMS) or Janus's HTTP API (janus-viewer.ts);
 * - CPU rows (1, 4, 16 viewers): receivers that do not decode (werift peers in child processes,
 *   werift-receivers.ts), the same for all three servers, and each row reports the frame rate
 *   they received beside the CPU, so a row measured below full rate says so;
 * - Janus: its streaming plugin pulling the same RTSP (`apt-get install janus`); not installed:
 *   loud null figures and how to install it;
 * - KMS: the prebuilt Kurento Media Server 7.3 in ../shared/kms (kms-peer.ts), one pipeline per
 *   viewer as the client asks, /proc figures of its process; absent: loud null figures;
 * - AAC row (media-audio.ts): a camera with AAC audio, one Chromium viewer; CPU of the engine plus
 *   its AAC→Opus FFmpeg child, and the A/V offset the page measures from the simulator's flash and
 *   beep; `--aac-only` runs just this row;
 * - every row is measured in turns: engine, Janus, KMS, engine, … (medians of the rounds), so
 *   host drift between servers does not end up in the ratios.
 *
 * `--quick` (development only): fewer tries and rounds, no 16-viewer row.
 * Loopback only, bounded (a watchdog ends the run), everything it starts is stopped.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RtspClient } from '@camgate/core/rtsp-wire';
import { startCameraSim } from '@camgate/camera-sim';
import {
  launchChromium,
  servePage,
  CONFIGURABLE_VIEWER_HTML,
  connectKurento,
  playThroughKurento,
  type ConfigurableViewerStats,
} from '@camgate/test-helpers';
import { measureAacRow } from './media-audio.js';
import { JANUS_INSTALL_HINT, startJanus } from './janus.js';
import { JANUS_VIEWER_HTML, watchJanus } from './janus-viewer.js';
import { KMS_INSTALL_HINT, startKmsPeer } from './kms-peer.js';
import { measureRow, medianRow, type Peer, type Row } from './media-rows.js';
import { median, round, sample, waitFor, type Sample } from './proc-sample.js';
import { startReceiverPool } from './werift-receivers.js';

const JSON_OUT = process.argv.includes('--json');
const QUICK = process.argv.includes('--quick');
const AAC_ONLY = process.argv.includes('--aac-only'); // just the AAC row (issue 15), a few minutes
const TRIES = QUICK ? 3 : 10; // first-frame samples
// CPU window per row: three whole GOPs (300 frames), so every window holds exactly three keyframes.
// A keyframe is half of a GOP's packets here; a 10 s window held two or three, which moved figures by ±20 %.
const WINDOW_MS = 12_000;
const SETTLE_MS = 2_000; // after every receiver has a frame, before the window (ICE/DTLS and GOP replay done)
const CAMERA_FPS = 25;
const FIRST_FRAME_TIMEOUT_MS = 30_000; // a decoding Chromium tab on a loaded 2-core host
const ROUNDS_1 = QUICK ? 1 : 3; // one-viewer windows per server, taken in turns
const ROUNDS_4 = 1;
const ROUNDS_16 = QUICK ? 0 : 2;
const RECEIVER_CHILDREN = 4; // 16 receivers: 4 per child process
const WATCHDOG_MS = 40 * 60_000; // the whole run (three servers, on a loaded 2-core host)

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

type Viewer = { stats(): Promise<ConfigurableViewerStats>; close(): Promise<void> };

/** Time from "play" (the page creates its offer) to the first presented frame, in a decoding Chromium tab. */
async function firstFrameMs(v: Viewer): Promise<number> {
  const s = await waitFor('first decoded frame', FIRST_FRAME_TIMEOUT_MS, async () => {
    const x = await v.stats();
    return x.firstFrameAt > 0 && x.framesDecoded > 0 ? x : undefined;
  });
  return s.firstFrameAt - s.startedAt;
}

/** `tries` first-frame times, each at a random point of the camera's keyframe cycle; misses counted. */
async function firstFrames(
  open: () => Promise<Viewer>,
  tries: number,
  randomStart = true,
): Promise<{ ms: number[]; missed: number }> {
  const ms: number[] = [];
  let missed = 0;
  for (let i = 0; i < tries; i++) {
    if (randomStart) await sleep(Math.random() * 4_000); // a person arrives at a random moment of the 4 s GOP
    const v = await open();
    try {
      // Under heavy load a UDP-fed server (Janus, KMS) can lose part of an IDR, and a starved Chromium can take
      // longer than the bound to decode: counted and reported, not fatal.
      const t = await firstFrameMs(v).catch(() => undefined);
      if (t === undefined) missed++;
      else ms.push(t);
    } finally {
      await v.close();
    }
  }
  return { ms, missed };
}

const missed = (f: { missed: number }): string =>
  f.missed ? `; ${f.missed} of ${TRIES} tries saw no frame within ${FIRST_FRAME_TIMEOUT_MS / 1000} s` : '';
const p50 = (xs: number[]): number | null => (xs.length ? round(median(xs), 0) : null);
const r2 = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : round(x, 2));
/** RSS increase per added viewer from the 1- to the 16-viewer row (both medians of their rounds). */
const perViewerRss = (rows: Record<number, Row> | undefined): number | null =>
  rows?.[1] && rows[16] ? round((rows[16].rssMb - rows[1].rssMb) / 15, 2) : null;
const perViewerCpu = (rows: Record<number, Row> | undefined): number | null =>
  rows?.[1] && rows[16] ? round((rows[16].cpuPct - rows[1].cpuPct) / 15, 2) : null;
const ratio = (a: Row | undefined, b: Row | undefined): number | null =>
  a && b && b.cpuPct > 0 ? round(a.cpuPct / b.cpuPct, 2) : null;

async function main(): Promise<void> {
  const cleanups: (() => unknown)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // keep tearing down the rest
      }
    }
  };
  const watchdog = setTimeout(() => {
    out(`bench:media: watchdog: still running after ${WATCHDOG_MS / 1000} s, stopping`);
    void cleanup().finally(() => process.exit(2));
  }, WATCHDOG_MS);
  try {
    const password = randomBytes(9).toString('base64url');
    const cam = await startCameraSim({
      username: 'bench',
      password,
      width: 1280,
      height: 720,
      fps: CAMERA_FPS,
      gopSeconds: 4,
    });
    cleanups.push(() => cam.close());

    // The engine in its own process.
    const childPath = fileURLToPath(new URL('./media-engine-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', childPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(async () => {
      child.stdin!.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(kill);
    });
    const first = await Promise.race([
      new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
      exited.then(() => {
        throw new Error('bench: the engine child exited before listening');
      }),
    ]);
    const { url: engineUrl, build } = JSON.parse(first) as { url: string; build: string };
    const enginePid = child.pid!;

    const site = await servePage(CONFIGURABLE_VIEWER_HTML);
    cleanups.push(() => site.close());
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const client = await connectKurento(engineUrl);
    cleanups.push(() => client.close());

    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const openWith = (kc: any) => async (): Promise<Viewer> => {
      const v = await playThroughKurento({
        browser,
        pageUrl: site.url,
        client: kc,
        cameraUrl: cam.urlWithCredentials,
        rtcConfig: { iceServers: [] },
      });
      cleanups.push(() => v.close());
      return v;
    };
    const open = openWith(client);

    out(
      `bench:media — engine (${build} build, pid ${enginePid}), camera sim 1280x720 ${CAMERA_FPS} fps, IDR every 4 s`,
    );
    out(
      `  host: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (other work skews the figures)`,
    );
    if (AAC_ONLY) {
      const aac = await measureAacRow({ client, enginePid, windowMs: WINDOW_MS, out });
      if (JSON_OUT) out(JSON.stringify({ ...aac, load_average_1m: round(loadavg()[0]!, 2) }));
      return;
    }
    const idle = await sample(enginePid, 5_000);
    out(`  idle engine: ${round(idle.cpuPct)} % CPU, ${round(idle.rssMb)} MiB RSS`);

    // Kept warm: what the gateway's default (keepWarm 'auto' with the built-in engine) does, one player
    // with no viewer holds the camera's pull, so a viewer starts from the engine's GOP cache.
    // Cold (keepWarm: false, nobody watching): the engine opens the RTSP pull on play and the camera
    // starts the stream at its next keyframe. Each cold try starts at a random point of the camera's
    // 4 s keyframe cycle, as a person would; back-to-back tries would all land just after a keyframe.
    const warmPipeline = await client.create('MediaPipeline');
    const warmPlayer = await warmPipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
    await warmPlayer.play();
    await sleep(5_000); // a whole GOP in the cache
    const pulling = await sample(enginePid, 5_000);
    out(`  engine keeping the camera warm, no viewer: ${round(pulling.cpuPct)} % CPU, ${round(pulling.rssMb)} MiB RSS`);
    const warm = await firstFrames(open, TRIES, false); // from the GOP cache: the moment of arrival does not matter
    await warmPipeline.release();
    // A real camera's encoder runs all the time, so a viewer arriving at a random moment joins mid-GOP. The
    // simulator encodes only while a session plays and resumes with a keyframe, which would flatter every cold
    // try; another RTSP client (outside the servers, like an NVR recording the camera) keeps it encoding
    // through the cold tries of the engine and of KMS, which also opens the camera on play.
    const recorder = new RtspClient(cam.urlWithCredentials);
    recorder.start();
    cleanups.push(() => recorder.close());
    await sleep(1_000);
    const cold = await firstFrames(open, TRIES);
    out(`  first frame, camera kept warm (default): p50 ${p50(warm.ms)} ms  [${warm.ms.join(', ')}]` + missed(warm));
    out(
      `  first frame, cold (keepWarm: false, nobody watching): p50 ${p50(cold.ms)} ms  [${cold.ms.join(', ')}]` +
        missed(cold),
    );

    const pool = startReceiverPool(RECEIVER_CHILDREN);
    cleanups.push(() => pool.close());
    const peers: Peer[] = [
      {
        name: 'engine',
        pids: () => [enginePid],
        open: () => pool.kurento(client, cam.urlWithCredentials),
        retry: true,
      },
    ];

    // Janus's streaming plugin on the same camera.
    let janusIdle: Sample | undefined;
    let janusFirst: { ms: number[]; missed: number } | undefined;
    let janusWhy = '';
    try {
      const j = await startJanus({ url: cam.url, username: 'bench', password });
      cleanups.push(() => j.close());
      const up = await waitFor('the Janus RTSP mountpoint', 20_000, async () =>
        (await j.mountpoints()).some((m) => m.id === 1) ? true : undefined,
      ).catch(() => false);
      if (up) {
        out('');
        out(`  Janus streaming plugin (pid ${j.pid}), RTSP mountpoint on the same camera, RTP over UDP`);
        const jsite = await servePage(JANUS_VIEWER_HTML);
        cleanups.push(() => jsite.close());
        const openJ = async (): Promise<Viewer> => {
          const v = await watchJanus(browser, jsite.url, j.apiUrl, 1);
          cleanups.push(() => v.close());
          return v;
        };
        // Janus pulls the camera all the time, watched or not: its idle figure already includes the RTSP pull.
        janusIdle = await sample(j.pid, 5_000);
        out(`  idle Janus (pulling the camera): ${round(janusIdle.cpuPct)} % CPU, ${round(janusIdle.rssMb)} MiB RSS`);
        janusFirst = await firstFrames(openJ, TRIES);
        out(
          `  first frame (Janus keeps no GOP, a viewer waits for the next IDR): p50 ${p50(janusFirst.ms)} ms  [${janusFirst.ms.join(', ')}]` +
            missed(janusFirst),
        );
        peers.push({ name: 'Janus', pids: () => [j.pid], open: () => pool.janus(j.apiUrl, 1), retry: true });
      } else {
        const log = await j.log();
        const lines = log.split('\n').filter((l) => /ERR/.test(l) && /rtsp|SETUP|mountpoint|curl/i.test(l));
        janusWhy = /SETUP, got error code: 461/.test(log)
          ? 'the camera simulator answered 461 Unsupported Transport to the SETUP of Janus (RTP/AVP/UDP asked)'
          : 'the RTSP mountpoint did not come up within 20 s';
        janusWhy += `\n    janus log: ${lines
          .slice(0, 4)
          .join('\n    janus log: ')
          .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')}`;
        await j.close();
      }
    } catch (err) {
      janusWhy = (err as Error).message.split('\n')[0]!;
      if (/not found/.test(String(err))) janusWhy += ` — install with: ${JANUS_INSTALL_HINT}`;
    }
    if (!janusIdle) {
      out('');
      out('  !!! JANUS FIGURES ARE NULL: Janus could not do the same job here !!!');
      out(`  why: ${janusWhy}`);
      out('');
    }

    // The real Kurento Media Server, driven like the engine: one pipeline (and so one RTSP pull) per viewer.
    let kmsIdle: Sample | undefined;
    let kmsFirst: { ms: number[]; missed: number } | undefined;
    let kmsWhy = '';
    try {
      const kms = await startKmsPeer([password]);
      cleanups.push(() => kms.close());
      out('');
      out(
        `  Kurento Media Server 7.3 (pid ${kms.pid}, ../shared/kms), a pipeline per viewer, RTSP pulled by GStreamer`,
      );
      kmsIdle = await sample(kms.pid, 5_000);
      out(`  idle KMS (no pipeline): ${round(kmsIdle.cpuPct)} % CPU, ${round(kmsIdle.rssMb)} MiB RSS`);
      // Cold by nature (KMS opens the camera when the pipeline plays); the recorder keeps the camera encoding.
      kmsFirst = await firstFrames(openWith(kms.client), TRIES);
      out(
        `  first frame (KMS opens the camera on play): p50 ${p50(kmsFirst.ms)} ms  [${kmsFirst.ms.join(', ')}]` +
          missed(kmsFirst),
      );
      peers.push({
        name: 'KMS',
        pids: () => [kms.pid],
        open: () => pool.kurento(kms.client, cam.urlWithCredentials),
        retry: true,
      });
    } catch (err) {
      kmsWhy = (err as Error).message.split('\n')[0]!;
      out('');
      out('  !!! KMS FIGURES ARE NULL: the real Kurento Media Server could not run here !!!');
      out(`  why: ${kmsWhy}`);
      if (!/not found/.test(kmsWhy)) out(`  (where it comes from: ${KMS_INSTALL_HINT})`);
      out('');
    }
    await recorder.close();

    // Every row in turns: engine, Janus, KMS, engine, …; each server's figure is the median of its rounds.
    const rows: Record<string, Record<number, Row>> = {};
    const windows: Record<string, number[]> = {};
    const counts: [n: number, rounds: number][] = [
      [1, ROUNDS_1],
      [4, ROUNDS_4],
      [16, ROUNDS_16],
    ];
    out('');
    out(
      `  CPU rows: receivers that do not decode (werift, ${RECEIVER_CHILDREN} child processes), servers in turns, ` +
        `${WINDOW_MS / 1000} s windows; figures are the servers' processes only`,
    );
    for (const [n, rounds] of counts) {
      const got: Record<string, Row[]> = {};
      for (let r = 0; r < rounds; r++) {
        for (const peer of peers) {
          const list = (got[peer.name] ??= []);
          // A starved host can fail one row (a receiver that never connects): said, and the row is left out.
          await measureRow(peer, n, { windowMs: WINDOW_MS, settleMs: SETTLE_MS, cameraFps: CAMERA_FPS, out }).then(
            (row) => list.push(row),
            (err: unknown) =>
              out(`     WARNING: ${peer.name} with ${n} viewer(s) failed: ${String(err).split('\n')[0]}`),
          );
        }
      }
      for (const [name, list] of Object.entries(got)) {
        if (list.length === 0) continue;
        (rows[name] ??= {})[n] = medianRow(list);
        if (n === 1) windows[name] = list.map((x) => round(x.cpuPct, 2));
      }
    }

    out('');
    const aac = await measureAacRow({ client, enginePid, windowMs: WINDOW_MS, out }).catch((err: unknown) => {
      out(`     WARNING: the AAC row failed: ${String(err).split('\n')[0]}`);
      return undefined;
    });

    const e = rows.engine ?? {};
    const j = rows.Janus;
    const k = rows.KMS;
    const result = {
      first_frame_p50_ms: p50(warm.ms),
      first_frame_p50_ms_cold: p50(cold.ms),
      cpu_pct_per_stream: r2(e[1]?.cpuPct),
      cpu_pct_per_stream_windows: windows.engine ?? [],
      cpu_pct_per_stream_event_loop: r2(e[1]?.mainThreadPct),
      rss_mb_per_stream: e[1] ? round(e[1].rssMb - idle.rssMb, 1) : null,
      rss_mb_engine_1_viewer: e[1] ? round(e[1].rssMb, 1) : null,
      rss_mb_engine_idle: round(idle.rssMb, 1),
      cpu_pct_kept_warm_no_viewer: round(pulling.cpuPct, 2),
      cpu_pct_4_viewers: r2(e[4]?.cpuPct),
      cpu_pct_16_viewers: r2(e[16]?.cpuPct),
      rss_mb_16_viewers: e[16] ? round(e[16].rssMb, 1) : null,
      // Engine: RSS with 16 viewers minus RSS with 1 viewer, over the 15 viewers added (medians of the rounds).
      rss_mb_per_viewer: perViewerRss(e),
      cpu_pct_per_added_viewer: perViewerCpu(e),
      fps_per_viewer_1: e[1] ? round(e[1].fpsPerViewer) : null,
      fps_per_viewer_4: e[4] ? round(e[4].fpsPerViewer) : null,
      fps_per_viewer_16: e[16] ? round(e[16].fpsPerViewer) : null,
      janus_cpu_pct_per_stream: r2(j?.[1]?.cpuPct),
      janus_cpu_pct_per_stream_windows: windows.Janus ?? [],
      janus_rss_mb_per_stream: j?.[1] && janusIdle ? round(j[1].rssMb - janusIdle.rssMb, 1) : null,
      janus_rss_mb_1_viewer: j?.[1] ? round(j[1].rssMb, 1) : null,
      janus_cpu_pct_idle_pulling: janusIdle ? round(janusIdle.cpuPct, 2) : null,
      janus_cpu_pct_4_viewers: r2(j?.[4]?.cpuPct),
      janus_cpu_pct_16_viewers: r2(j?.[16]?.cpuPct),
      janus_first_frame_p50_ms: janusFirst ? p50(janusFirst.ms) : null,
      janus_fps_per_viewer_1: j?.[1] ? round(j[1].fpsPerViewer) : null,
      janus_fps_per_viewer_4: j?.[4] ? round(j[4].fpsPerViewer) : null,
      janus_fps_per_viewer_16: j?.[16] ? round(j[16].fpsPerViewer) : null,
      janus_rss_mb_per_viewer: perViewerRss(j),
      janus_cpu_pct_per_added_viewer: perViewerCpu(j),
      cpu_ratio_vs_janus: ratio(e[1], j?.[1]),
      cpu_ratio_vs_janus_16_viewers: ratio(e[16], j?.[16]),
      kms_cpu_pct_per_stream: r2(k?.[1]?.cpuPct),
      kms_cpu_pct_per_stream_windows: windows.KMS ?? [],
      kms_rss_mb_idle: kmsIdle ? round(kmsIdle.rssMb, 1) : null,
      kms_rss_mb_1_viewer: k?.[1] ? round(k[1].rssMb, 1) : null,
      kms_cpu_pct_4_viewers: r2(k?.[4]?.cpuPct),
      kms_cpu_pct_16_viewers: r2(k?.[16]?.cpuPct),
      kms_rss_mb_16_viewers: k?.[16] ? round(k[16].rssMb, 1) : null,
      kms_first_frame_p50_ms: kmsFirst ? p50(kmsFirst.ms) : null,
      kms_fps_per_viewer_1: k?.[1] ? round(k[1].fpsPerViewer) : null,
      kms_fps_per_viewer_4: k?.[4] ? round(k[4].fpsPerViewer) : null,
      kms_fps_per_viewer_16: k?.[16] ? round(k[16].fpsPerViewer) : null,
      kms_rss_mb_per_viewer: perViewerRss(k),
      kms_cpu_pct_per_added_viewer: perViewerCpu(k),
      cpu_ratio_vs_kms: ratio(e[1], k?.[1]),
      cpu_ratio_vs_kms_16_viewers: ratio(e[16], k?.[16]),
      aac_cpu_pct_per_stream: aac?.aac_cpu_pct_per_stream ?? null,
      aac_ffmpeg_cpu_pct: aac?.aac_ffmpeg_cpu_pct ?? null,
      av_offset_ms: aac?.av_offset_ms ?? null,
      av_offset_ms_marks: aac?.av_offset_ms_marks ?? [],
      receivers: 'werift, no decoding',
      load_average_1m: round(loadavg()[0]!, 2),
      janus_unavailable_reason: janusIdle ? null : janusWhy.split('\n')[0],
      kms_unavailable_reason: kmsIdle ? null : kmsWhy,
    };
    out(
      `summary: first frame p50 ${result.first_frame_p50_ms} ms kept warm (default) / ${result.first_frame_p50_ms_cold} ms cold; ` +
        `engine ${result.cpu_pct_per_stream} % CPU and +${result.rss_mb_per_stream} MiB RSS per 720p25 stream, ` +
        `${result.cpu_pct_16_viewers} % with 16 viewers, +${result.rss_mb_per_viewer} MiB RSS per added viewer; ` +
        (j
          ? `Janus ${result.janus_cpu_pct_per_stream} % per stream, ${result.janus_cpu_pct_16_viewers} % with 16 viewers, ` +
            `cpu_ratio_vs_janus ${result.cpu_ratio_vs_janus} (16 viewers ${result.cpu_ratio_vs_janus_16_viewers}); `
          : 'Janus: n/a; ') +
        (k
          ? `KMS ${result.kms_cpu_pct_per_stream} % per stream, ${result.kms_cpu_pct_16_viewers} % with 16 viewers, ` +
            `cpu_ratio_vs_kms ${result.cpu_ratio_vs_kms}`
          : 'KMS: n/a'),
    );
    if (JSON_OUT) out(JSON.stringify(result));
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:media failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
