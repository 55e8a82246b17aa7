/**
 * The camera zoo (issue 11): RTSP cameras with real encoders (GStreamer's RTSP
 * server, fixtures/zoo/rtsp-camera.py), each watched in Chromium the way a
 * person meets it — signed in on the hub's viewer page, through hub → tunnel
 * → gateway → built-in engine. One stack for all cases; each camera encodes
 * only while its case watches it (gst-rtsp-server builds the pipeline on
 * DESCRIBE and drops it after the last TEARDOWN).
 *
 * Measured in the page: click → first presented frame (requestVideoFrameCallback),
 * frames decoded per second (inbound-rtp framesDecoded) against frames the
 * camera sent in the same window, the longest time without a new frame, and
 * the text on the tile. A table of all cases is printed at the end and
 * written to test-artifacts/zoo.md.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { addUser } from '@camgate/core';
import { startStack, GATEWAY_ID, type Stack, launchViewerBrowser, player, stats } from '@camgate/test-helpers';
import { checkCameraSends, describeCamera, startZooCamera, type ZooCamera } from './helpers/zoo-camera.js';
import {
  frameReport,
  framesDecoded,
  pageNow,
  receiveCounters,
  signInMeasured,
  tileText,
  type ReceiveCounters,
  waitFirstFrame,
  watchMeasured,
  within,
} from './helpers/zoo-watch.js';
import {
  CAMERA_PASSWORD,
  CAMERA_USER,
  WRONG_PASSWORD,
  ZOO_CASES,
  type ZooCase,
  type ZooExpectation,
} from './fixtures/zoo/cases.js';

const WATCH_MS = 12_000; // of watching after the first frame, per case
const FIRST_FRAME_TIMEOUT_MS = 20_000; // a 4 s GOP, an FFmpeg start, a loaded CI machine
const MIN_FPS_RATIO = 0.9; // issue 11: 90 % of the camera's frame rate
const MAX_FREEZE_MS = 1_000; // issue 11: no freeze over 1 s…
// …that the camera did not cause: an encoder starved of CPU on a busy machine stalls by itself; the picture
// may then freeze as long as the camera did, plus a jitter buffer's worth.
const FREEZE_SLACK_MS = 500;
const WRONG_PASSWORD_WITHIN_MS = 10_000; // issue 11: "camera unreachable" within 10 s, reason in plain words
const LOST_WITHIN_MS = 3_000; // issue 11: "camera lost — reconnecting" within 3 s of the picture stopping
const BACK_WITHIN_MS = 3_000; // issue 11: video back within 3 s of the camera's return
const OUTAGE_MS = 6_000; // how long the stop-sending camera stays silent
const CASE_TIMEOUT_MS = 120_000;
const CAMERA_START_CONCURRENCY = 3;

const ALICE = { name: 'alice', password: 'alice-Zoo-Pass-6Vb3' };

/** Only loopback candidates reach the engine: tests send traffic to 127.0.0.0/8 alone. */
const loopbackOnly = (c: string): boolean => c.split(' ')[4] === '127.0.0.1';

interface Row {
  case: string;
  camera: string;
  firstFrameMs?: number;
  fpsDecoded?: number;
  fpsSent?: number;
  kbpsSent?: number;
  longestFreezeMs?: number;
  /** The longest the camera itself sent nothing in the same window. */
  cameraGapMs?: number;
  /** Packets lost, PLIs sent, freezes and dropped frames counted by the browser in the window (inbound-rtp). */
  receive?: string;
  message: string;
  result: 'pass' | 'FAIL';
}

const rows: Row[] = [];

const fmt = (n: number | undefined, digits = 0): string => (n === undefined ? '—' : n.toFixed(digits));

function table(): string {
  const head =
    '| case | camera | first frame ms | fps decoded / sent | kbit/s sent | longest freeze ms (viewer / camera) | lost / PLI / freezes / dropped | tile shows | result |';
  const lines = rows.map(
    (r) =>
      `| ${r.case} | ${r.camera} | ${fmt(r.firstFrameMs)} | ${fmt(r.fpsDecoded, 1)} / ${fmt(r.fpsSent, 1)} | ` +
      `${fmt(r.kbpsSent)} | ${fmt(r.longestFreezeMs)} / ${fmt(r.cameraGapMs)} | ${r.receive ?? '—'} | ${r.message} | ${r.result} |`,
  );
  return [head, '| --- | --- | --- | --- | --- | --- | --- | --- | --- |', ...lines].join('\n');
}

/** `lost / PLI / freezes / dropped` between two readings of the browser's receive counters. */
function receiveDelta(a: ReceiveCounters | undefined, b: ReceiveCounters | undefined): string | undefined {
  if (!a || !b) return undefined;
  const d = (k: keyof ReceiveCounters): number => b[k] - a[k];
  return `${d('packetsLost')} / ${d('pliCount')} / ${d('freezeCount')} / ${d('framesDropped')}`;
}

/** RTSP over UDP must be refused by the TCP-only camera (RFC 2326 §11.4.14, 461 Unsupported Transport). */
function udpRefused(url: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-rtsp_transport', 'udp', '-i', url],
      { timeout: 15_000, encoding: 'utf8' },
      (err, _stdout, stderr) => resolve(err ? stderr : 'ffprobe succeeded over UDP'),
    );
  });
}

describe('camera zoo: real encoders watched in Chromium through hub, tunnel, gateway and engine', () => {
  const cams = new Map<string, ZooCamera>();
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let dir: string;

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'camgate-zoo-e2e-'));
      const usersFile = join(dir, 'users.json');
      await addUser(usersFile, { ...ALICE, cameras: [`${GATEWAY_ID}/*`] });
      // Idle cameras cost nothing but a listening socket: encoders run only while a case watches. They start
      // a few at a time: sixteen Python + GStreamer starts at once starve each other on a small machine.
      const queue = [...ZOO_CASES];
      const startNext = async (): Promise<void> => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          const auth = c.camera.auth && c.camera.auth !== 'none';
          const cam = await startZooCamera({
            ...c.camera,
            ...(auth ? { user: CAMERA_USER, password: CAMERA_PASSWORD } : {}),
          });
          cams.set(c.id, cam);
        }
      };
      const started = await Promise.allSettled(Array.from({ length: CAMERA_START_CONCURRENCY }, startNext));
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      stack = await startStack({
        cameras: ZOO_CASES.map((c) => {
          const auth = c.camera.auth && c.camera.auth !== 'none';
          return {
            id: c.id,
            name: c.title,
            url: cams.get(c.id)!.url,
            ...(auth ? { username: CAMERA_USER, password: c.gatewayPassword ?? CAMERA_PASSWORD } : {}),
          };
        }),
        engine: { interfaceAddress: '127.0.0.1' },
        hub: { viewer: { usersFile, acceptBrowserCandidate: loopbackOnly } },
      });
      stack.secrets.add(CAMERA_PASSWORD);
      stack.secrets.add(WRONG_PASSWORD);
      browser = await launchViewerBrowser();
      page = await signInMeasured(browser, stack.hub.url, ALICE.name, ALICE.password);
    },
    { timeout: CASE_TIMEOUT_MS },
  );

  after(async () => {
    console.log(`\ncamera zoo (${WATCH_MS / 1000} s watched per case)\n${table()}\n`);
    try {
      await mkdir(join(process.cwd(), '..', 'test-artifacts'), { recursive: true });
      await writeFile(join(process.cwd(), '..', 'test-artifacts', 'zoo.md'), `${table()}\n`);
    } catch {
      // the table is also on stdout
    }
    await browser?.close();
    await stack?.close();
    await Promise.all([...cams.values()].map((c) => c.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Closes the tile and waits (bounded) until the engine has released the pipeline. */
  async function closeTile(id: string): Promise<void> {
    await page.click(`.tile[data-id="${id}"] .tile-close`);
    await within(
      10_000,
      async () => stack.engine.stats().pipelines,
      (n) => n === 0,
    );
  }

  /** Watches for WATCH_MS after the first frame and fills the row; `during` runs halfway (resize). */
  async function measurePlaying(c: ZooCase, id: string, row: Row, during?: () => Promise<void>): Promise<string[]> {
    const cam = cams.get(c.id)!;
    const problems: string[] = [];
    const from = await pageNow(page);
    const [c0, d0, r0] = [await cam.stats(), await framesDecoded(page, id), await receiveCounters(page, id)];
    if (during) {
      await sleep(WATCH_MS / 2);
      await during();
      await sleep(WATCH_MS / 2);
    } else {
      await sleep(WATCH_MS);
    }
    const to = await pageNow(page);
    const [c1, d1, r1] = [await cam.stats(), await framesDecoded(page, id), await receiveCounters(page, id)];
    row.receive = receiveDelta(r0, r1);
    const secs = (to - from) / 1000;
    const rep = await frameReport(page, id, from, to);
    const p = await player(page, id);
    row.fpsSent = (c1.frames - c0.frames) / secs;
    row.fpsDecoded = (d1 - d0) / secs;
    row.kbpsSent = ((c1.bytes - c0.bytes) * 8) / secs / 1000;
    row.longestFreezeMs = rep.longestFreezeMs;
    row.cameraGapMs = c1.longestGapMs;
    row.message = tileText(p);
    if (row.fpsSent <= 0) problems.push('the camera sent no frames in the window');
    if (row.fpsDecoded < MIN_FPS_RATIO * row.fpsSent) {
      problems.push(`decoded ${row.fpsDecoded.toFixed(1)} fps, under 90 % of the ${row.fpsSent.toFixed(1)} fps sent`);
    }
    if (rep.longestFreezeMs > Math.max(MAX_FREEZE_MS, c1.longestGapMs + FREEZE_SLACK_MS)) {
      problems.push(`picture froze for ${Math.round(rep.longestFreezeMs)} ms (camera: ${c1.longestGapMs} ms)`);
    }
    if (p.state !== 'playing' || p.text !== 'Live') problems.push(`tile shows "${tileText(p)}", not "Live"`);
    const want = c.resizeTo ?? c.camera;
    const s = await stats(page, id);
    if (s.frameWidth !== want.width || s.frameHeight !== want.height) {
      problems.push(`picture is ${s.frameWidth}x${s.frameHeight}, the camera sends ${want.width}x${want.height}`);
    }
    return problems;
  }

  async function playsCase(c: ZooCase, row: Row): Promise<string[]> {
    const cam = cams.get(c.id)!;
    if (c.camera.tcpOnly) {
      const refusal = await udpRefused(cam.url);
      assert.match(refusal, /461|Unsupported transport/i, 'the TCP-only camera refuses RTP over UDP');
    }
    const id = await watchMeasured(page, `${GATEWAY_ID}/${c.id}`);
    try {
      const first = await waitFirstFrame(page, id, FIRST_FRAME_TIMEOUT_MS);
      row.message = tileText(first.player);
      // A failed tile shows its message over the video: whatever the <video> presented, nobody saw a picture.
      if (first.firstFrameMs === undefined || first.player.state === 'failed') {
        return [`no picture; tile shows "${row.message}"`];
      }
      row.firstFrameMs = first.firstFrameMs;
      const during = c.resizeTo ? () => cam.resize(c.resizeTo!.width, c.resizeTo!.height) : undefined;
      return await measurePlaying(c, id, row, during);
    } finally {
      await closeTile(id);
    }
  }

  async function wrongPasswordCase(c: ZooCase, row: Row): Promise<string[]> {
    const id = await watchMeasured(page, `${GATEWAY_ID}/${c.id}`);
    try {
      const r = await within(
        WRONG_PASSWORD_WITHIN_MS,
        () => player(page, id),
        (p) => /password/i.test(tileText(p)),
      );
      row.message = `${tileText(r.value)} (after ${Math.round(r.ms)} ms)`;
      const html = await page.content();
      assert.ok(!html.includes(CAMERA_PASSWORD) && !html.includes(WRONG_PASSWORD), 'no password on the page');
      return r.ok ? [] : [`no wrong-password message within 10 s; tile shows "${tileText(r.value)}"`];
    } finally {
      await closeTile(id);
    }
  }

  async function lostAndBackCase(c: ZooCase, row: Row): Promise<string[]> {
    const cam = cams.get(c.id)!;
    const problems: string[] = [];
    const id = await watchMeasured(page, `${GATEWAY_ID}/${c.id}`);
    try {
      const first = await waitFirstFrame(page, id, FIRST_FRAME_TIMEOUT_MS);
      row.firstFrameMs = first.firstFrameMs;
      if (first.firstFrameMs === undefined) return [`no picture within 20 s; tile shows "${tileText(first.player)}"`];
      await sleep(3_000);
      await cam.stopSending();
      const stoppedAt = performance.now();
      // The camera comes back OUTAGE_MS after it stopped, whatever the tile showed meanwhile.
      const lost = await within(
        OUTAGE_MS - 500,
        () => player(page, id),
        (p) => /camera lost/i.test(tileText(p)) && /reconnecting/i.test(tileText(p)),
      );
      const shownLost = tileText(lost.value);
      if (!lost.ok || lost.ms > LOST_WITHIN_MS) {
        problems.push(`${Math.round(lost.ms)} ms after the camera stopped, the tile shows "${shownLost}"`);
      }
      await sleep(Math.max(0, OUTAGE_MS - (performance.now() - stoppedAt)));
      const d0 = await framesDecoded(page, id);
      await cam.resume();
      const back = await within(
        BACK_WITHIN_MS + 12_000,
        async () => ({ decoded: await framesDecoded(page, id), p: await player(page, id) }),
        (v) => v.decoded > d0 + 5 && v.p.state === 'playing' && v.p.text === 'Live',
      );
      if (!back.ok || back.ms > BACK_WITHIN_MS) {
        problems.push(
          `${Math.round(back.ms)} ms after the camera resumed: ${back.value.decoded - d0} frames, tile "${tileText(back.value.p)}"`,
        );
      }
      // A few seconds of the returned picture: frame rate and freezes as for every other camera.
      const from = await pageNow(page);
      const [c0, f0, r0] = [await cam.stats(), await framesDecoded(page, id), await receiveCounters(page, id)];
      await sleep(4_000);
      const to = await pageNow(page);
      const [c1, f1, r1] = [await cam.stats(), await framesDecoded(page, id), await receiveCounters(page, id)];
      row.receive = receiveDelta(r0, r1);
      const rep = await frameReport(page, id, from, to);
      row.fpsSent = (c1.frames - c0.frames) / ((to - from) / 1000);
      row.fpsDecoded = (f1 - f0) / ((to - from) / 1000);
      row.kbpsSent = ((c1.bytes - c0.bytes) * 8) / (to - from);
      row.longestFreezeMs = rep.longestFreezeMs;
      row.cameraGapMs = c1.longestGapMs;
      if (row.fpsDecoded < MIN_FPS_RATIO * row.fpsSent) {
        problems.push(`after the return, ${row.fpsDecoded.toFixed(1)} of ${row.fpsSent.toFixed(1)} fps decoded`);
      }
      if (rep.longestFreezeMs > Math.max(MAX_FREEZE_MS, c1.longestGapMs + FREEZE_SLACK_MS)) {
        problems.push(`after the return, the picture froze for ${Math.round(rep.longestFreezeMs)} ms`);
      }
      row.message =
        `stopped → "${shownLost}" after ${Math.round(lost.ms)} ms; ` +
        `resumed → "${tileText(back.value.p)}" after ${Math.round(back.ms)} ms`;
      return problems;
    } finally {
      await cam.resume().catch(() => undefined);
      await closeTile(id);
    }
  }

  const byExpectation: Record<ZooExpectation, (c: ZooCase, row: Row) => Promise<string[]>> = {
    plays: playsCase,
    resize: playsCase,
    'wrong-password': wrongPasswordCase,
    'lost-and-back': lostAndBackCase,
  };

  for (const c of ZOO_CASES) {
    it(`${c.title}: ${describeCamera(c.camera)}`, { timeout: CASE_TIMEOUT_MS }, async (t) => {
      const row: Row = { case: c.title, camera: describeCamera(c.camera), message: '', result: 'FAIL' };
      rows.push(row);
      // The zoo proves something only if each camera sends what its case says: read it back with ffprobe.
      const probeStart = performance.now();
      assert.deepEqual(await checkCameraSends(cams.get(c.id)!), [], `${c.title}: the camera sends what it is set to`);
      t.diagnostic(`ffprobe confirmed the camera's stream in ${Math.round(performance.now() - probeStart)} ms`);
      const problems = await byExpectation[c.expect](c, row);
      t.diagnostic(
        `first frame ${fmt(row.firstFrameMs)} ms, ${fmt(row.fpsDecoded, 1)} / ${fmt(row.fpsSent, 1)} fps, ` +
          `longest freeze ${fmt(row.longestFreezeMs)} ms (camera ${fmt(row.cameraGapMs)} ms), ` +
          `lost / PLI / freezes / dropped ${row.receive ?? '—'}, tile: ${row.message}`,
      );
      // The camera encodes only while watched; stop its process now to keep the machine free for the next case.
      await cams.get(c.id)?.close();
      if (problems.length === 0) row.result = 'pass';
      assert.deepEqual(problems, [], `${c.title}: ${problems.join('; ')}`);
    });
  }

  it('keeps every camera password out of the logs', () => {
    const logs = JSON.stringify(stack.logs);
    assert.ok(stack.logs.length > 0, 'the stack logged');
    assert.equal(logs.includes(CAMERA_PASSWORD), false);
    assert.equal(logs.includes(WRONG_PASSWORD), false);
  });
});
