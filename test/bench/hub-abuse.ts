/**
 * `npm run bench:abuse [-- --json]`: the attacks of the hub abuse run (token
 * flood, slow sockets, upgrades) against a real hub on loopback, while a real viewer signs in and watches
 * a camera in Chromium through the hub and the built-in engine.
 *
 * Phases (each for PHASE_MS, attackers reopening what the hub closes, 1 s later):
 * - baseline: no attack;
 * - token flood: 240 API requests with random tokens (`cgt_` shaped, random ids), 24 at a time, one address;
 * - known-id flood: 240 requests with a real token id and wrong secrets, spread over 48 addresses;
 * - slow sockets: 1,100 sockets sending half their headers, one address — then spread over 1,100 addresses;
 * - upgrades: 500 WebSocket upgrades to /tunnel that never say hello, one address — then 500 addresses.
 *
 * Attackers use their own loopback addresses (127.0.0.2 and up; all of
 * 127/8 is local on Linux), the viewer 127.0.0.1. For each phase it prints
 * the viewer's sign-in latency (median and worst of a sign-in every 2 s, each
 * on a new connection from a new address) and the answers it got, the hub's
 * CPU-seconds, the hub's open sockets at the end (and how many the attacker
 * sees open, accept backlog included), and whether the video kept
 * playing (frames decoded during the phase). The hub runs in its own process
 * (hub-abuse-child.ts). `CAMGATE_CORE=/path/to/gateway-core/dist/index.js`
 * runs the same against another build (e.g. main's); `HUB_NOFILE=1024` runs the
 * hub under that open-file limit (prlimit). Bounded; stops itself.
 */
import { fork, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startCameraSim } from '@camgate/camera-sim';
import { launchViewerBrowser, signIn as browserSignIn, stats, watch } from '@camgate/test-helpers';

type Core = typeof import('@camgate/core');
const core = (await import(process.env.CAMGATE_CORE ?? '@camgate/core')) as Core;

const JSON_OUT = process.argv.includes('--json');
const NOFILE = process.env.HUB_NOFILE ? Number(process.env.HUB_NOFILE) : undefined;
const PHASE_MS = 20_000; // 20 s per phase: longer than the new header timeout (10 s), shorter than the old (60 s)
const SIGN_IN_EVERY_MS = 2_000;
const SIGN_IN_TIMEOUT_MS = 30_000;
const REOPEN_MS = 1_000;
const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };
const GATEWAY_ID = 'bench-home';
const SECRET = 'bench-secret-4kT9wQ2mZr7Lp';

/** The n-th attacker address: 127.0.0.2 for a single attacker, 127.3.x.y for spread ones. */
const spread = (i: number): string => `127.3.${Math.floor(i / 250)}.${(i % 250) + 1}`;

interface HubChild {
  proc: ChildProcess;
  url: string;
  tunnelUrl: string;
  token: string;
  knownIdPrefix: string | undefined;
  stats(): Promise<{ cpuS: number; sockets: number; dead: boolean; guard?: Record<string, number> }>;
}

async function startHubChild(usersFile: string): Promise<HubChild> {
  const child = fileURLToPath(new URL('./hub-abuse-child.ts', import.meta.url));
  const env = {
    ...process.env,
    HUB_ABUSE_ARGS: JSON.stringify({ usersFile, gatewayId: GATEWAY_ID, secret: SECRET, tokens: 3 }),
  };
  const stdio: StdioOptions = ['ignore', 'inherit', 'inherit', 'ipc'];
  // HUB_NOFILE=1024: the hub under a fixed open-file limit (soft = hard, so Node cannot raise it), as in
  // containers and many service managers; without it the hub gets this shell's limit.
  const proc = NOFILE
    ? spawn('prlimit', [`--nofile=${NOFILE}:${NOFILE}`, process.execPath, '--import', 'tsx', child], { env, stdio })
    : fork(child, [], { execArgv: ['--import', 'tsx'], env, stdio });
  const [ready] = (await once(proc, 'message')) as [HubChild];
  return {
    ...ready,
    proc,
    async stats() {
      const sockets = socketFds(proc.pid);
      if (proc.exitCode !== null || proc.signalCode !== null) return { cpuS: NaN, sockets, dead: true };
      proc.send({ type: 'stats' });
      const ac = new AbortController();
      try {
        return await Promise.race([
          (async () => {
            for (;;) {
              const [m] = (await once(proc, 'message', { signal: ac.signal })) as [
                { type: string; cpuS: number; guard?: Record<string, number> },
              ];
              if (m.type === 'stats') return { ...m, sockets, dead: false };
            }
          })(),
          once(proc, 'exit', { signal: ac.signal }).then(() => ({ cpuS: NaN, sockets, dead: true })),
          sleep(30_000, undefined, { signal: ac.signal }).then(() => ({ cpuS: NaN, sockets, dead: false })),
        ]);
      } finally {
        ac.abort(); // removes the listeners the losers still hold
      }
    },
  };
}

/** Sockets the hub process holds, read from /proc (works even when the hub has no descriptor left). */
function socketFds(pid: number | undefined): number {
  let n = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return NaN; // the process is gone
  }
  return n;
}

/** One HTTP request on its own connection; resolves with status and milliseconds, or 'timeout'/'error'. */
function httpOnce(
  base: string,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string; localAddress: string },
): Promise<{ status: number | 'timeout' | 'error'; ms: number }> {
  const u = new URL(base);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        path: opts.path,
        method: opts.method,
        headers: opts.headers,
        agent: false,
        localAddress: opts.localAddress,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    r.setTimeout(SIGN_IN_TIMEOUT_MS, () => {
      r.destroy();
      resolve({ status: 'timeout', ms: SIGN_IN_TIMEOUT_MS });
    });
    r.on('error', () => resolve({ status: 'error', ms: performance.now() - t0 }));
    r.end(opts.body);
  });
}

/**
 * The viewer's sign-in, each from the next address of 127.2.0.0/16: the same person at a new address
 * every time, so the figures measure the hub's answer rather than a limit on one address (main counted
 * even successful sign-ins: ten per 15 minutes per address).
 */
let signIns = 0;
const signIn = (base: string) => {
  const n = signIns++;
  return httpOnce(base, {
    method: 'POST',
    path: '/login',
    headers: { 'Content-Type': 'application/json', Origin: base },
    body: JSON.stringify(ALICE),
    localAddress: `127.2.${Math.floor(n / 250)}.${(n % 250) + 1}`,
  });
};

/** Attack sockets that the attacker keeps open, reopening each REOPEN_MS after the hub closes it. */
class SocketAttack {
  readonly sockets = new Set<Socket>();
  opened = 0;
  #running = true;
  constructor(
    readonly port: number,
    readonly count: number,
    readonly address: (i: number) => string,
    readonly payload: string,
  ) {
    for (let i = 0; i < count; i++) this.#open(i);
  }
  #open(i: number): void {
    if (!this.#running) return;
    const s = connect({ host: '127.0.0.1', port: this.port, localAddress: this.address(i) });
    this.opened++;
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('connect', () => {
      this.sockets.add(s);
      s.write(this.payload);
    });
    s.on('close', () => {
      this.sockets.delete(s);
      if (this.#running) setTimeout(() => this.#open(i), REOPEN_MS).unref();
    });
  }
  stop(): void {
    this.#running = false;
    for (const s of this.sockets) s.destroy();
  }
}

const HALF_HEADERS = 'GET /login HTTP/1.1\r\nHost: hub\r\nUser-Agent: slow\r\n';
const upgrade = (): string =>
  'GET /tunnel HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** Fires `total` API requests, `parallel` at a time, until done or the phase ends. */
async function tokenFlood(
  base: string,
  total: number,
  parallel: number,
  token: (i: number) => string,
  address: (i: number) => string,
) {
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const r = await httpOnce(base, {
        method: 'GET',
        path: '/api/gateways',
        headers: { Authorization: `Bearer ${token(i)}` },
        localAddress: address(i),
      });
      statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return Object.fromEntries(statuses);
}

interface PhaseResult {
  phase: string;
  signInMedianMs: number;
  signInWorstMs: number;
  signInStatuses: Record<string, number>;
  hubCpuS: number;
  /** Attack sockets connected as the attacker sees them (includes ones still in the hub's accept backlog). */
  attackerSocketsHeld: number | undefined;
  hubSockets: number;
  hubAlive: boolean;
  framesDecoded: number;
  videoPlays: boolean;
  extra?: unknown;
}

async function phase(
  name: string,
  hub: HubChild,
  page: Page,
  playerId: string,
  attack: () => { done: Promise<unknown>; held?: () => number; stop: () => void },
): Promise<PhaseResult> {
  const before = await hub.stats();
  const framesBefore = (await stats(page, playerId)).framesDecoded;
  const a = attack();
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const end = Date.now() + PHASE_MS;
  let extra: unknown;
  void a.done.then((x) => (extra = x));
  await sleep(500); // let the attack build up
  while (Date.now() < end) {
    const r = await signIn(hub.url);
    if (r.status === 200) latencies.push(r.ms);
    statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
    await sleep(SIGN_IN_EVERY_MS);
  }
  const held = a.held?.();
  const after = await hub.stats();
  const framesAfter = (await stats(page, playerId)).framesDecoded;
  a.stop();
  await Promise.race([a.done, sleep(120_000)]);
  await sleep(3_000); // let the hub settle before the next phase
  latencies.sort((x, y) => x - y);
  return {
    phase: name,
    signInMedianMs: Math.round(latencies[Math.floor(latencies.length / 2)] ?? NaN),
    signInWorstMs: Math.round(latencies.at(-1) ?? NaN),
    signInStatuses: statuses,
    hubCpuS: Number((after.cpuS - before.cpuS).toFixed(2)),
    attackerSocketsHeld: held,
    hubSockets: after.sockets,
    hubAlive: !after.dead,
    framesDecoded: framesAfter - framesBefore,
    videoPlays: framesAfter > framesBefore,
    extra: extra ?? after.guard,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'camgate-abuse-'));
const usersFile = join(dir, 'users.json');
await core.addUser(usersFile, { ...ALICE, cameras: [`${GATEWAY_ID}/*`] });
const cam = await startCameraSim({
  username: 'bench',
  password: 'bench-Cam-pw-1',
  width: 320,
  height: 240,
  fps: 25,
  gopSeconds: 2,
});
const engine = await core.KurentoEngine.start({ port: 0, interfaceAddress: '127.0.0.1' } as never);
const hub = await startHubChild(usersFile);
const gateway = core.Gateway.start({
  hub: { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET },
  mediaBackendUrl: engine.url,
  cameras: [{ id: 'porch', name: 'Porch', url: cam.url, username: 'bench', password: 'bench-Cam-pw-1' }],
  keepWarm: false,
} as never);
const browser = await launchViewerBrowser();
const results: PhaseResult[] = [];
try {
  await sleep(1_000);
  const page = await browserSignIn(browser, hub.url, ALICE.name, ALICE.password);
  const playerId = await watch(page, `${GATEWAY_ID}/porch`);
  for (let i = 0; i < 300 && (await stats(page, playerId)).framesDecoded < 10; i++) await sleep(100);
  const port = Number(new URL(hub.url).port);
  // Random tokens in the shape the build under test accepts (before ids: any 16-256 base64url characters).
  const randomToken = () =>
    hub.knownIdPrefix === undefined
      ? randomBytes(32).toString('base64url')
      : `cgt_${randomBytes(12).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  const knownIdToken = () =>
    hub.knownIdPrefix === undefined ? randomToken() : `${hub.knownIdPrefix}.${randomBytes(32).toString('base64url')}`;
  const none = () => ({ done: Promise.resolve(), stop: () => undefined });
  const flood = (token: (i: number) => string, address: (i: number) => string) => () => ({
    done: tokenFlood(hub.url, 240, 24, token, address),
    stop: () => undefined,
  });
  const sockets = (count: number, address: (i: number) => string, payload: () => string) => () => {
    const s = new SocketAttack(port, count, address, payload());
    return { done: Promise.resolve(undefined), held: () => s.sockets.size, stop: () => s.stop() };
  };
  results.push(await phase('baseline', hub, page, playerId, none));
  results.push(
    await phase(
      'token flood (random ids, 1 address)',
      hub,
      page,
      playerId,
      flood(randomToken, () => '127.0.0.2'),
    ),
  );
  results.push(
    await phase(
      'token flood (known id, wrong secret, 48 addresses)',
      hub,
      page,
      playerId,
      flood(knownIdToken, (i) => spread(i % 48)),
    ),
  );
  results.push(
    await phase(
      '1,100 slow sockets (1 address)',
      hub,
      page,
      playerId,
      sockets(
        1_100,
        () => '127.0.0.3',
        () => HALF_HEADERS,
      ),
    ),
  );
  results.push(
    await phase(
      '1,100 slow sockets (1,100 addresses)',
      hub,
      page,
      playerId,
      sockets(1_100, spread, () => HALF_HEADERS),
    ),
  );
  results.push(
    await phase(
      '500 upgrades without hello (1 address)',
      hub,
      page,
      playerId,
      sockets(500, () => '127.0.0.4', upgrade),
    ),
  );
  results.push(
    await phase(
      '500 upgrades without hello (500 addresses)',
      hub,
      page,
      playerId,
      sockets(500, (i) => spread(i + 600), upgrade),
    ),
  );
} finally {
  await browser.close().catch(() => undefined);
  await gateway.close().catch(() => undefined);
  hub.proc.send({ type: 'close' });
  await Promise.race([once(hub.proc, 'exit'), sleep(10_000)]);
  hub.proc.kill();
  await engine.close().catch(() => undefined);
  await cam.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

const ms = (v: number): string => (Number.isNaN(v) ? '     - ms' : `${String(v).padStart(6)} ms`);
if (JSON_OUT) console.log(JSON.stringify(results));
else {
  console.log(
    `camgate hub under abuse (core: ${process.env.CAMGATE_CORE ?? '@camgate/core'}; phases of ${PHASE_MS / 1000} s; ` +
      `hub open-file limit: ${NOFILE ?? 'inherited'})`,
  );
  for (const r of results) {
    console.log(
      `${r.phase.padEnd(52)} sign-in median ${ms(r.signInMedianMs)}, worst ${ms(r.signInWorstMs)}, answers ${JSON.stringify(r.signInStatuses)}; ` +
        `${r.hubAlive ? '' : 'HUB PROCESS DIED; '}hub CPU ${r.hubCpuS.toFixed(2)} s; hub sockets ${r.hubSockets} (attacker sees ${r.attackerSocketsHeld ?? '-'} open); ` +
        `video ${r.videoPlays ? 'plays' : 'STOPPED'} (+${r.framesDecoded} frames)` +
        (r.extra ? ` ${JSON.stringify(r.extra)}` : ''),
    );
  }
}
process.exit(0);
