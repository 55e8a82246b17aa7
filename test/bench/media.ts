/**
 * `npm run bench:media [-- --json]`: what one forwarded camera costs the
 * built-in engine, and how fast a viewer sees the first picture.
 *
 * - camera: the simulator at 1280x720, 25 fps, an IDR every 4 s (a real camera's GOP);
 * - engine: alone in a child process (test/bench/media-engine-child.ts), so
 *   /proc/<pid>/stat utime+stime and /proc/<pid>/status VmRSS are its own;
 * - viewers: tabs of one headless Chromium, driven with the official kurento-client;
 * - peer: Janus's streaming plugin pulling the same RTSP (over UDP, what it asks for), its viewers
 *   driven through Janus's HTTP API by our own page (janus-viewer.ts); the same /proc sampling of
 *   the janus process, the same window and viewer counts. Janus not installed: loud null figures;
 * - one viewer (per-stream CPU, the ratio): engine and Janus measured in turns, three windows
 *   each, medians, so host drift between the two runs does not end up in the ratio.
 *
 * Loopback only, bounded (a watchdog ends the run), everything it starts is stopped.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  type ConfigurableViewer,
  type ConfigurableViewerStats,
} from '@camgate/test-helpers';
import { JANUS_INSTALL_HINT, startJanus } from './janus.js';
import { JANUS_VIEWER_HTML, watchJanus } from './janus-viewer.js';

const JSON_OUT = process.argv.includes('--json');
const TRIES = 10; // first-frame samples
// CPU window per scenario: three whole GOPs (300 frames), so every window holds exactly three keyframes.
// A keyframe is half of a GOP's packets here; a 10 s window held two or three, which moved figures by ±20 %.
const WINDOW_MS = 12_000;
const SETTLE_MS = 2_000; // after every viewer decodes, before the window (ICE/DTLS and GOP replay done)
const VIEWER_COUNTS = [1, 4, 16] as const;
const ROUNDS = 3; // one-viewer windows per peer, taken in turns
const WATCHDOG_MS = 15 * 60_000; // the whole run
const CLK_TCK = 100; // USER_HZ on Linux (getconf CLK_TCK)

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** utime+stime in seconds from a /proc stat line (proc(5): fields 14 and 15, after the `(comm)` field). */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds of a whole process and of its main thread (the event loop, for Node). */
function cpuSeconds(pid: number): { all: number; main: number } {
  let main = 0;
  try {
    main = statCpuSeconds(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    // no per-thread accounting: the split is reported as 0 for the helpers
  }
  const all = statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { all, main: main || all };
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

type Sample = { cpuPct: number; mainThreadPct: number; rssMb: number };

/**
 * CPU % of one core over a fixed wall-clock window, and RSS at its end. The
 * main thread's share is kept apart: for the engine the rest is V8's helper
 * threads (garbage collection, compilation) and libuv's.
 */
async function sample(pid: number, windowMs = WINDOW_MS): Promise<Sample> {
  const c0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await sleep(windowMs);
  const c1 = cpuSeconds(pid);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    cpuPct: ((c1.all - c0.all) / wall) * 100,
    mainThreadPct: ((c1.main - c0.main) / wall) * 100,
    rssMb: rssMb(pid),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`bench: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

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
    const cam = await startCameraSim({ username: 'bench', password, width: 1280, height: 720, fps: 25, gopSeconds: 4 });
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

    const open = async (): Promise<ConfigurableViewer> => {
      const v = await playThroughKurento({
        browser,
        pageUrl: site.url,
        client,
        cameraUrl: cam.urlWithCredentials,
        rtcConfig: { iceServers: [] },
      });
      cleanups.push(() => v.close());
      return v;
    };
    type Viewer = { stats(): Promise<ConfigurableViewerStats>; close(): Promise<void> };
    const firstFrameMs = async (v: Viewer): Promise<number> => {
      const s = await waitFor('first decoded frame', 20_000, async () => {
        const x = await v.stats();
        return x.firstFrameAt > 0 && x.framesDecoded > 0 ? x : undefined;
      });
      return s.firstFrameAt - s.startedAt;
    };

    out(`bench:media — engine (${build} build, pid ${enginePid}), camera sim 1280x720 25 fps, IDR every 4 s`);
    out(
      `  host: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (other work skews the figures)`,
    );
    const idle = await sample(enginePid, 5_000);
    out(`  idle engine: ${round(idle.cpuPct)} % CPU, ${round(idle.rssMb)} MiB RSS`);

    // Time from "play" (the page creates its offer) to the first presented frame, p50 of TRIES.
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
    const warm: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      const v = await open();
      warm.push(await firstFrameMs(v));
      await v.close();
    }
    await warmPipeline.release();
    // A real camera's encoder runs all the time, so a viewer arriving at a random moment joins mid-GOP. The
    // simulator encodes only while a session plays and resumes with a keyframe, which would flatter every cold
    // try; another RTSP client (outside the engine, like an NVR recording the camera) keeps it encoding.
    const recorder = new RtspClient(cam.urlWithCredentials);
    recorder.start();
    cleanups.push(() => recorder.close());
    await sleep(1_000);
    const cold: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      await sleep(Math.random() * 4_000);
      const v = await open();
      cold.push(await firstFrameMs(v));
      await v.close();
    }
    await recorder.close();
    out(`  first frame, camera kept warm (default): p50 ${round(median(warm), 0)} ms  [${warm.join(', ')}]`);
    out(
      `  first frame, cold (keepWarm: false, nobody watching): p50 ${round(median(cold), 0)} ms  [${cold.join(', ')}]`,
    );

    type Row = Sample & { fpsPerViewer: number };
    /** `n` viewers from `openOne`; CPU/RSS of `pid` over one window once all of them decode. */
    const measureRow = async (label: string, pid: number, openOne: () => Promise<Viewer>, n: number): Promise<Row> => {
      const viewers: Viewer[] = [];
      for (let i = 0; i < n; i++) viewers.push(await openOne());
      // A starved host (few cores, 16 Chromium decoders) may never show some viewer a frame; the server still
      // forwards to every peer, so its CPU is measured anyway and the row says how many never decoded.
      let undecoded = 0;
      for (const v of viewers) await firstFrameMs(v).catch(() => undecoded++);
      if (undecoded > 0) out(`     WARNING: ${undecoded} of ${n} viewers decoded no frame within 20 s (host starved)`);
      await sleep(SETTLE_MS);
      const f0 = await Promise.all(viewers.map((v) => v.stats().then((x) => x.framesDecoded)));
      const s = await sample(pid);
      const f1 = await Promise.all(viewers.map((v) => v.stats().then((x) => x.framesDecoded)));
      const fps = median(f1.map((f, i) => (f - f0[i]!) / (WINDOW_MS / 1000)));
      out(
        `  ${String(n).padStart(2)} viewer(s): ${label} ${round(s.cpuPct)} % of one core` +
          // Node's event loop is its main thread; Janus works in per-session threads, so its split says nothing.
          (label === 'engine' ? ` (event loop ${round(s.mainThreadPct)}, V8/libuv helpers the rest)` : '') +
          ', ' +
          `${round(s.rssMb)} MiB RSS; Chromium decodes ${round(fps)} fps per viewer (median)`,
      );
      if (fps < 20) {
        out(
          `     WARNING: viewers decode ${round(fps)} of 25 fps: this host (${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}) ` +
            `cannot decode that many 720p streams in Chromium; this row measures a starved pipeline, not ${label} at full rate`,
        );
      }
      for (const v of viewers) await v.close();
      return { ...s, fpsPerViewer: fps };
    };
    /** Each field's median over rows measured the same way. */
    const medianRow = (rows: Row[]): Row => ({
      cpuPct: median(rows.map((r) => r.cpuPct)),
      mainThreadPct: median(rows.map((r) => r.mainThreadPct)),
      rssMb: median(rows.map((r) => r.rssMb)),
      fpsPerViewer: median(rows.map((r) => r.fpsPerViewer)),
    });

    // Janus's streaming plugin on the same camera, measured the same way.
    type JanusPeer = { pid: number; openJ: () => Promise<Viewer>; idle: Sample };
    let jp: JanusPeer | null = null;
    const jFirst: number[] = [];
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
        const jIdle = await sample(j.pid, 5_000);
        out(`  idle Janus (pulling the camera): ${round(jIdle.cpuPct)} % CPU, ${round(jIdle.rssMb)} MiB RSS`);
        let jMissed = 0;
        for (let i = 0; i < TRIES; i++) {
          await sleep(Math.random() * 4_000); // a random point of the keyframe cycle, as for the engine
          const v = await openJ();
          // Under heavy load Janus's UDP socket can drop part of an IDR (no retransmission from an RTSP source),
          // so a try may see no frame at all: counted and reported, not fatal.
          const ms = await firstFrameMs(v).catch(() => undefined);
          if (ms === undefined) jMissed++;
          else jFirst.push(ms);
          await v.close();
        }
        out(
          `  first frame (Janus keeps no GOP, a viewer waits for the next IDR): p50 ${jFirst.length ? round(median(jFirst), 0) : 'n/a'} ms  [${jFirst.join(', ')}]` +
            (jMissed ? `; ${jMissed} of ${TRIES} tries saw no frame within 20 s` : ''),
        );
        jp = { pid: j.pid, openJ, idle: jIdle };
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
    if (!jp) {
      out('');
      out('  !!! JANUS FIGURES ARE NULL: Janus could not do the same job here !!!');
      out(`  why: ${janusWhy}`);
      out('');
    }

    // One viewer, the figure the ratio is made of: engine and Janus in turns, ROUNDS windows each, medians.
    // Measured minutes apart, the two would carry the host's drift (a shared 2-core VM moves by ±15 %).
    out('');
    out(`  one viewer, engine and Janus in turns (${ROUNDS} windows each, medians):`);
    const engineOnes: Row[] = [];
    const janusOnes: Row[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      engineOnes.push(await measureRow('engine', enginePid, open, 1));
      if (jp) janusOnes.push(await measureRow('Janus', jp.pid, jp.openJ, 1));
    }
    const perViewers: Record<number, Row> = { 1: medianRow(engineOnes) };
    const janusRows: Record<number, Row> = {};
    if (jp) janusRows[1] = medianRow(janusOnes);
    out('');
    for (const n of VIEWER_COUNTS.filter((c) => c > 1)) perViewers[n] = await measureRow('engine', enginePid, open, n);
    if (jp)
      for (const n of VIEWER_COUNTS.filter((c) => c > 1)) janusRows[n] = await measureRow('Janus', jp.pid, jp.openJ, n);
    const janus = jp ? { idle: jp.idle, firstFrame: jFirst, rows: janusRows } : null;

    const one = perViewers[1]!;
    const jOne = janus?.rows[1];
    // Per stream = the process with one viewer (camera pull + one forwarded stream), for both peers.
    const ratio = jOne && jOne.cpuPct > 0 ? round(one.cpuPct / jOne.cpuPct, 2) : null;
    const result = {
      first_frame_p50_ms: round(median(warm), 0),
      first_frame_p50_ms_cold: round(median(cold), 0),
      cpu_pct_per_stream: round(one.cpuPct, 2),
      cpu_pct_per_stream_windows: engineOnes.map((r) => round(r.cpuPct, 2)),
      cpu_pct_per_stream_event_loop: round(one.mainThreadPct, 2),
      rss_mb_per_stream: round(one.rssMb - idle.rssMb, 1),
      rss_mb_engine_1_viewer: round(one.rssMb, 1),
      rss_mb_engine_idle: round(idle.rssMb, 1),
      cpu_pct_kept_warm_no_viewer: round(pulling.cpuPct, 2),
      cpu_pct_4_viewers: round(perViewers[4]!.cpuPct, 2),
      cpu_pct_16_viewers: round(perViewers[16]!.cpuPct, 2),
      rss_mb_16_viewers: round(perViewers[16]!.rssMb, 1),
      fps_per_viewer_1: round(perViewers[1]!.fpsPerViewer),
      fps_per_viewer_16: round(perViewers[16]!.fpsPerViewer),
      janus_cpu_pct_per_stream: jOne ? round(jOne.cpuPct, 2) : null,
      janus_cpu_pct_per_stream_windows: janusOnes.map((r) => round(r.cpuPct, 2)),
      janus_rss_mb_per_stream: jOne && janus ? round(jOne.rssMb - janus.idle.rssMb, 1) : null,
      janus_rss_mb_1_viewer: jOne ? round(jOne.rssMb, 1) : null,
      janus_cpu_pct_idle_pulling: janus ? round(janus.idle.cpuPct, 2) : null,
      janus_cpu_pct_4_viewers: janus ? round(janus.rows[4]!.cpuPct, 2) : null,
      janus_cpu_pct_16_viewers: janus ? round(janus.rows[16]!.cpuPct, 2) : null,
      janus_first_frame_p50_ms: janus?.firstFrame.length ? round(median(janus.firstFrame), 0) : null,
      janus_fps_per_viewer_16: janus ? round(janus.rows[16]!.fpsPerViewer) : null,
      cpu_ratio_vs_janus: ratio,
      cpu_ratio_vs_janus_16_viewers: janus ? round(perViewers[16]!.cpuPct / janus.rows[16]!.cpuPct, 2) : null,
      load_average_1m: round(loadavg()[0]!, 2),
      janus_unavailable_reason: janus ? null : janusWhy.split('\n')[0],
    };
    out(
      `summary: first frame p50 ${result.first_frame_p50_ms} ms kept warm (default) / ${result.first_frame_p50_ms_cold} ms cold; ` +
        `${result.cpu_pct_per_stream} % CPU and +${result.rss_mb_per_stream} MiB RSS per 720p25 stream; ` +
        `${result.cpu_pct_16_viewers} % CPU with 16 viewers; ` +
        (janus
          ? `Janus ${result.janus_cpu_pct_per_stream} % per stream, ${result.janus_cpu_pct_16_viewers} % with 16 viewers, ` +
            `first frame p50 ${result.janus_first_frame_p50_ms} ms; cpu_ratio_vs_janus ${result.cpu_ratio_vs_janus}`
          : 'Janus: n/a'),
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
