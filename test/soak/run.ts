/**
 * The soak: Chromium signs in on the hub and
 * watches two simulated cameras through hub → tunnel → gateway → engine, each
 * a process of its own, with every timer at its default, while faults are
 * injected on a schedule: the tunnel cut for 5 s, the hub restarted, the
 * engine SIGKILLed and restarted, a camera restarted. The official
 * kurento-client holds a session through the hub's Kurento endpoint all the
 * while. Everything listens on 127.0.0.1, on ports the OS chose.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kurentoClient from 'kurento-client';
import type { Browser, Page } from 'playwright-core';
import { addUser, makeVerifier } from '@camgate/core';
import { startCameraSim, type CameraSim } from '@camgate/camera-sim';
import { TcpProxy, launchViewerBrowser, signIn, watch } from '@camgate/test-helpers';
import { installMeter, longestFreeze, readMeter, recoveryMs, type CameraMeter } from './page-meter.js';
import { startEngineProcess, startGatewayProcess, startHubProcess, type Child, type HubInfo } from './processes.js';

export type FaultKind = 'tunnel-cut' | 'hub-restart' | 'engine-kill' | 'camera-restart';

export interface SoakOptions {
  /** Total watching time (ms). */
  durationMs: number;
  /** Faults and when they start, ms after watching began. */
  faults: { atMs: number; kind: FaultKind }[];
  /** How long the tunnel stays cut and a camera stays off (ms). */
  outageMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface FaultResult {
  kind: FaultKind;
  start: number;
  end: number;
  /** Per camera key: ms from the fault's end to video again (0: the picture never paused; undefined: never). */
  recoveryMs: Record<string, number | undefined>;
  /** Per camera key: the longest freeze from the fault's start to 30 s after its end. */
  freezeMs: Record<string, number>;
}

export interface CameraResult {
  key: string;
  /** Frames the camera encoded (and sent) while the page watched. */
  sent: number;
  decoded: number;
  presented: number;
  longestFreezeMs: number;
  players: number;
  /** framesDecoded at each 30 s mark (the window check: it grows in every window). */
  windows: number[];
}

export interface SoakReport {
  durationMs: number;
  cameras: CameraResult[];
  faults: FaultResult[];
  /** Still on the cameras page at the end, never reloaded or sent to the sign-in page. */
  signedIn: boolean;
  kurento: {
    sessionId: string | undefined;
    /** 'reconnected' events: sameSession true when the session resumed. */
    reconnects: { at: number; sameSession: boolean }[];
    /** Objects made again because the media backend lost them (engine SIGKILL). */
    recreated: number;
    /** The invoke at the end (getMediaState) answered. */
    finalInvokeOk: boolean;
    finalInvokeError?: string;
  };
}

const GATEWAY_ID = 'home';
const GATEWAY_SECRET = 'soak-gw-secret-Q8vN3xLp6tRz2KmW';
const CAM_USER = 'admin';
const CAM_PASSWORD = 'soak-Cam-pw-5Tg8';
const WINDOW_MS = 30_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KObject = any;

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const outageMs = opts.outageMs ?? 5_000;
  const cleanup: (() => Promise<unknown>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'camgate-soak-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const usersFile = join(dir, 'users.json');
    const { generatedPassword } = await addUser(usersFile, { name: 'soak', cameras: [`${GATEWAY_ID}/*`] });

    const cams: CameraSim[] = [];
    for (let i = 0; i < 2; i++) {
      const cam = await startCameraSim({
        username: CAM_USER,
        password: CAM_PASSWORD,
        width: 320,
        height: 240,
        fps: 25,
        gopSeconds: 2,
      });
      cams.push(cam);
      cleanup.push(() => cam.close());
    }
    const camIds = ['front', 'back'];

    let engine = await startEngineProcess();
    const enginePort = engine.info.port;
    cleanup.push(() => engine.stop('SIGKILL'));
    const hubCfg = {
      listenPort: 0,
      kurentoPort: 0,
      gatewayId: GATEWAY_ID,
      secretHash: await makeVerifier(GATEWAY_SECRET),
      usersFile,
    };
    let hub: Child<HubInfo> = await startHubProcess(hubCfg);
    const { listenPort, kurentoPort } = hub.info;
    cleanup.push(() => hub.stop());
    const hubUrl = hub.info.url;
    const proxy = await TcpProxy.create({ port: listenPort });
    cleanup.push(() => proxy.close());
    const gateway = await startGatewayProcess({
      hub: { url: `ws://127.0.0.1:${proxy.port}/tunnel`, gatewayId: GATEWAY_ID, secret: GATEWAY_SECRET },
      mediaBackendUrl: engine.info.url,
      cameras: cams.map((c, i) => ({
        id: camIds[i],
        name: `Camera ${i + 1}`,
        url: c.url,
        username: CAM_USER,
        password: CAM_PASSWORD,
      })),
    });
    cleanup.push(() => gateway.stop());
    log(`stack up: hub ${hubUrl}, engine ${engine.info.url}, gateway pid ${gateway.info.pid}`);

    const browser: Browser = await launchViewerBrowser();
    cleanup.push(() => browser.close());
    const page: Page = await signIn(browser, hubUrl, 'soak', generatedPassword!);
    const keys = camIds.map((id) => `${GATEWAY_ID}/${id}`);
    for (const key of keys) await watch(page, key);
    await installMeter(page);
    // The page must never reload or leave for the sign-in form: its meter (and a person's view) would be lost.
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame !== page.mainFrame()) return;
      navigations++;
      log(`the page navigated to ${frame.url()}`);
    });
    await until(
      async () => {
        const m = await readMeter(page);
        return keys.every((k) => (m[k]?.presented ?? 0) > 0);
      },
      30_000,
      'both cameras playing',
    );
    log('both cameras playing');

    // The official client's session through the hub, for the whole run.
    const kc = await bounded(
      kurentoSession(`ws://127.0.0.1:${kurentoPort}/kurento/${GATEWAY_ID}`),
      60_000,
      'kurento-client session',
    );
    cleanup.push(async () => kc.client.close());
    kc.client.on('disconnect', () => log('kurento-client disconnected'));
    const reconnects: { at: number; sameSession: boolean }[] = [];
    kc.client.on('reconnected', (same: boolean) => {
      reconnects.push({ at: Date.now(), sameSession: same });
      log(`kurento-client reconnected (${same ? 'same session' : 'new session'})`);
    });

    const t0 = Date.now();
    const sentAtStart = cams.map((c) => c.stats.framesEncoded);
    const atStart = await readMeter(page);
    const windows: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
    let nextWindow = t0 + WINDOW_MS;
    const sampleWindows = async (): Promise<void> => {
      while (Date.now() >= nextWindow) {
        const m = await readMeter(page);
        for (const k of keys) windows[k]!.push((m[k]?.decoded ?? 0) - (atStart[k]?.decoded ?? 0));
        nextWindow += WINDOW_MS;
      }
    };
    const waitUntilMs = async (at: number): Promise<void> => {
      while (Date.now() < at) {
        await sleep(Math.min(1_000, at - Date.now()));
        await sampleWindows();
      }
    };

    const done: { kind: FaultKind; start: number; end: number }[] = [];
    for (const f of [...opts.faults].sort((a, b) => a.atMs - b.atMs)) {
      await waitUntilMs(t0 + f.atMs);
      const start = Date.now();
      log(`fault ${f.kind} at ${Math.round((start - t0) / 1000)} s`);
      switch (f.kind) {
        case 'tunnel-cut':
          proxy.sever();
          await sleep(outageMs);
          proxy.restore();
          break;
        case 'hub-restart':
          await hub.stop('SIGTERM');
          hub = await startHubProcess({ ...hubCfg, listenPort, kurentoPort });
          break;
        case 'engine-kill':
          await engine.stop('SIGKILL');
          engine = await startEngineProcess(enginePort);
          break;
        case 'camera-restart':
          await cams[1]!.stop();
          await sleep(outageMs);
          await cams[1]!.resume();
          break;
      }
      const end = Date.now();
      done.push({ kind: f.kind, start, end });
      log(`fault ${f.kind} over after ${end - start} ms`);
    }
    await waitUntilMs(t0 + opts.durationMs);
    const tEnd = Date.now();
    await sampleWindows();

    const meter = await readMeter(page);
    const signedIn = new URL(page.url()).pathname === '/' && navigations === 0;
    const cameras: CameraResult[] = keys.map((k, i) => {
      const m: CameraMeter = meter[k] ?? emptyMeter(k);
      return {
        key: k,
        sent: cams[i]!.stats.framesEncoded - sentAtStart[i]!,
        decoded: m.decoded - (atStart[k]?.decoded ?? 0),
        presented: m.presented - (atStart[k]?.presented ?? 0),
        longestFreezeMs: longestFreeze(m, t0, tEnd),
        players: m.players,
        windows: windows[k]!,
      };
    });
    // A fault's freeze: from its start to 30 s after its end, or to the next fault's start if sooner.
    const faults: FaultResult[] = done.map((f, i) => {
      const until = Math.min(tEnd, f.end + 30_000, done[i + 1]?.start ?? Infinity);
      return {
        ...f,
        recoveryMs: Object.fromEntries(keys.map((k) => [k, recoveryMs(meter[k] ?? emptyMeter(k), f)])),
        freezeMs: Object.fromEntries(keys.map((k) => [k, longestFreeze(meter[k] ?? emptyMeter(k), f.start, until)])),
      };
    });

    // The session's objects answer at the end; what an engine SIGKILL took is made again, as an application would.
    let finalInvokeOk = false;
    let finalInvokeError: string | undefined;
    let recreated = 0;
    try {
      const state = await mediaState(kc.webrtc);
      log(`kurento-client invoke at the end: getMediaState → ${state}`);
      finalInvokeOk = true;
    } catch (err) {
      log(`kurento-client invoke at the end failed: ${String(err)}`);
      finalInvokeError = String(err);
      if (done.some((f) => f.kind === 'engine-kill')) {
        recreated++;
        try {
          const again = await bounded(kurentoObjects(kc.client), 30_000, 'create');
          log(`kurento-client made its objects again: getMediaState → ${await mediaState(again.webrtc)}`);
          finalInvokeOk = true;
          finalInvokeError = undefined;
        } catch (err2) {
          finalInvokeError = `${String(err)}; made again: ${String(err2)}`;
        }
      }
    }
    return {
      durationMs: tEnd - t0,
      cameras,
      faults,
      signedIn,
      kurento: { sessionId: sessionIdOf(kc.client), reconnects, recreated, finalInvokeOk, finalInvokeError },
    };
  } finally {
    for (const fn of cleanup.reverse()) {
      try {
        await bounded(fn(), 20_000, 'cleanup');
      } catch {
        // keep tearing down the rest
      }
    }
  }
}

/** `p`, or a rejection after `ms`: every wait of the soak ends. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function emptyMeter(key: string): CameraMeter {
  return { key, presented: 0, decoded: 0, firstAt: 0, lastAt: 0, gaps: [], players: 0 };
}

async function until(pred: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function kurentoSession(url: string): Promise<{ client: KObject; pipeline: KObject; webrtc: KObject }> {
  // A reconnect loop that does not give up within any soak: the faults end, the client must come back.
  const connecting = kurentoClient(url, { failAfter: 100_000, strict: true });
  // kurento-client 7.3 re-emits every failed reconnect attempt as 'error' on its reconnect-core emitter and adds
  // no listener itself (see gateway-core/test/gateway/persistence.test.ts).
  (connecting as unknown as { _re: { on(e: string, f: () => void): void } })._re.on('error', () => undefined);
  const client = await connecting;
  return { client, ...(await kurentoObjects(client)) };
}

/** kurento-client's sessionId; its getter throws once the client saw a disconnect. */
function sessionIdOf(client: KObject): string | undefined {
  try {
    return typeof client.sessionId === 'string' ? client.sessionId : undefined;
  } catch {
    return undefined;
  }
}

/** getMediaState in kurento-client's callback form: its promise form traces some errors and resolves undefined. */
function mediaState(webrtc: KObject): Promise<string> {
  return bounded(
    new Promise<string>((resolve, reject) =>
      webrtc.getMediaState((err: Error | null, v: unknown) =>
        err ? reject(err) : typeof v === 'string' ? resolve(v) : reject(new Error(`getMediaState gave ${String(v)}`)),
      ),
    ),
    30_000,
    'getMediaState',
  );
}

async function kurentoObjects(client: KObject): Promise<{ pipeline: KObject; webrtc: KObject }> {
  const pipeline = await client.create('MediaPipeline');
  const webrtc = await pipeline.create('WebRtcEndpoint');
  return { pipeline, webrtc };
}
