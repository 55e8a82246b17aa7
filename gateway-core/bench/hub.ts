/**
 * `npm run bench:hub [-- --json] [-- --gateways N]`: one hub, a thousand homes.
 *
 * - The hub is the real `camgate hub --config hub.yaml` (the built CLI, its
 *   info log lines drained), with its own TLS as a production hub serves wss;
 *   alone in its process, so /proc/PID is its own CPU and memory (proc.ts
 *   reads them from here). hub.yaml holds what `camgate hub add-gateway` and
 *   `add-user` write, so the restarted hub has the same state.
 * - N simulated gateways (default 1,000): real TunnelClients, each with its
 *   own id, secret (the hub holds only its SCRAM verifier, made as `camgate
 *   hub add-gateway` makes it), loopback address and 4 announced cameras,
 *   spread over CHILDREN processes (hub-gateways-child.ts).
 * - One more home is real: the built-in engine, a simulated camera and a
 *   `Gateway`, so a viewer (hub-viewer.ts: the page's protocol, werift as
 *   the browser) can sign in and get a first frame through the hub.
 *
 * Prints: hub RSS with no tunnel and with N idle ones (and per tunnel); hub
 * CPU while idle (heartbeats only) over IDLE_MS; the viewer's sign-in and
 * first frame on a quiet hub (median of QUIET_RUNS); then the storm — the hub
 * is killed (SIGKILL) and a new one started on the same port with the same
 * state — the time from the new hub listening until every home is back, the
 * hub's CPU meanwhile, and the viewer's sign-in and first frame during it;
 * meanwhile a second viewer signs in again every PROBE_EVERY_MS (median and
 * worst). With `--json` the last line is one JSON object.
 * CAMGATE_BENCH_HUB_PROF=DIR writes the restarted hub's CPU profile there.
 * Loopback only; bounded.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startCameraSim } from '@camgate/camera-sim';
import { Gateway, KurentoEngine, addUser, makeVerifier } from '@camgate/core';
import { makeSelfSignedCert } from '@camgate/test-helpers';
import { cpuWindow, load1, rssMiB } from './proc.js';
import { play, signIn } from './hub-viewer.js';

const JSON_OUT = process.argv.includes('--json');
const argN = process.argv.indexOf('--gateways');
const GATEWAYS = argN > 0 ? Number(process.argv[argN + 1]) : 1_000;
if (!Number.isSafeInteger(GATEWAYS) || GATEWAYS < 1 || GATEWAYS > 10_000) throw new RangeError('--gateways: 1-10000');
const CHILDREN = 4;
const IDLE_MS = 30_000; // three heartbeat rounds (heartbeatMs 10 s)
const SETTLE_MS = 10_000; // after the last tunnel came up, before memory is read
const QUIET_RUNS = 3;
const CONNECT_TIMEOUT_MS = 15 * 60_000; // the first start runs one scrypt per home on a shared machine
const STORM_TIMEOUT_MS = 5 * 60_000;
const PROBE_EVERY_MS = 1_000; // during the storm a second viewer signs in again this often, until all are back
const FRAME_TIMEOUT_MS = 120_000; // a starved machine (load 50 seen) can take that long to get ICE and DTLS done
const REAL_ID = 'bench-real';
const REAL_SECRET = 'bench-real-secret-4kT9wQ2mZr7Lp';
const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4-bench' };
const CAMERA = 'porch';

/** hub.yaml, as `camgate hub add-gateway` / `add-user` leave it (JSON is YAML). */
interface HubConfig {
  listen: { host: string; port: number };
  kurento: { host: string; port: number };
  tls: { certFile: string; keyFile: string };
  viewer: { usersFile: string };
  gateways: { id: string; name: string; secretHash: string }[];
}

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const say = (s: string): void => {
  if (!JSON_OUT) console.log(s);
  else console.error(s);
};

/** Next IPC message of `type` from `proc`, bounded. */
async function message<T>(proc: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    for (;;) {
      const [m] = (await once(proc, 'message', { signal: ac.signal })) as [{ type: string }];
      if (m.type === type) return m as T;
    }
  } catch {
    throw new Error(`child ${proc.pid}: no ${type} message within ${timeoutMs} ms`);
  } finally {
    clearTimeout(t);
  }
}

const children: ChildProcess[] = [];
const spawnChild = (file: string, env: Record<string, string>): ChildProcess => {
  const p = fork(here(file), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: 'inherit' });
  children.push(p);
  return p;
};

const dir = await mkdtemp(join(tmpdir(), 'camgate-bench-hub-'));
const configPath = join(dir, 'hub.yaml');
const usersFile = join(dir, 'users.json');
const cert = makeSelfSignedCert();
const cam = await startCameraSim({
  username: 'bench',
  password: 'bench-Cam-pw-1',
  width: 640,
  height: 360,
  fps: 25,
  gopSeconds: 2,
});
const engine = await KurentoEngine.start({ port: 0, interfaceAddress: '127.0.0.1' } as never);
let gateway: Gateway | undefined;
let hub: ChildProcess | undefined;
let hubStarts = 0;

/** Starts `camgate hub --config hub.yaml`; resolves when it says where gateways dial (it is listening then). */
async function startHub(): Promise<{ proc: ChildProcess; url: string; tunnelUrl: string; readyAt: number }> {
  const cli = here('../dist/cli/main.js');
  const log = openSync(join(dir, `hub-${++hubStarts}.log`), 'w');
  // CAMGATE_BENCH_HUB_PROF=DIR: the restarted hub writes a V8 CPU profile there (`--cpu-prof`) when it exits.
  const prof =
    hubStarts > 1 && process.env.CAMGATE_BENCH_HUB_PROF
      ? ['--cpu-prof', '--cpu-prof-dir', process.env.CAMGATE_BENCH_HUB_PROF]
      : [];
  const proc = spawn(process.execPath, [...prof, cli, 'hub', '--config', configPath], {
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  children.push(proc);
  // Log lines (stderr) go straight to a file, as a service manager's journal takes them: through a pipe to this
  // busy process the hub would block on a full pipe during the storm. The bench counts the warnings.
  const lines = createInterface({ input: proc.stdout! });
  const tunnelUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('camgate hub did not start within 120 s')), 120_000);
    proc.once('exit', (code) => reject(new Error(`camgate hub exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const m = /gateways dial (wss:\/\/[^;]+\/tunnel);/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { proc, url: tunnelUrl.replace(/^wss/, 'https').replace(/\/tunnel$/, ''), tunnelUrl, readyAt: Date.now() };
}

interface Status {
  connected: number;
  connectedAt: number[];
  scryptRuns: number;
  states: Record<string, number>;
  failures: Record<string, number>;
}
async function status(homes: ChildProcess[]): Promise<Status> {
  const all = await Promise.all(
    homes.map((h) => {
      const p = message<Status>(h, 'status', 30_000);
      h.send({ type: 'status' });
      return p;
    }),
  );
  const states: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const s of all) {
    for (const [k, v] of Object.entries(s.states)) states[k] = (states[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.failures)) failures[k] = (failures[k] ?? 0) + v;
  }
  return {
    connected: all.reduce((a, s) => a + s.connected, 0),
    connectedAt: all.flatMap((s) => s.connectedAt),
    scryptRuns: all.reduce((a, s) => a + s.scryptRuns, 0),
    states,
    failures,
  };
}

/** The hub's warnings and errors in its log, counted by message (the text before the first `key=`). */
function logProblems(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\S+ (WARN|ERROR) +(.*?)(?: \w+=|$)/.exec(line);
    if (m) out[`${m[1]} ${m[2]}`] = (out[`${m[1]} ${m[2]}`] ?? 0) + 1;
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r0 = (x: number): number => Math.round(x);
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

const out: Record<string, unknown> = { gateways: GATEWAYS, tls: true };
try {
  // State: the homes' verifiers (made in the children, where their secrets stay) and the viewer's account.
  say(`making ${GATEWAYS} gateway verifiers in ${CHILDREN} processes…`);
  const homes: ChildProcess[] = [];
  const per = Math.ceil(GATEWAYS / CHILDREN);
  for (let first = 0; first < GATEWAYS; first += per) {
    const count = Math.min(per, GATEWAYS - first);
    homes.push(spawnChild('./hub-gateways-child.ts', { CAMGATE_BENCH_GATEWAYS: JSON.stringify({ first, count }) }));
  }
  const made = await Promise.all(
    homes.map((h) => message<{ gateways: HubConfig['gateways'] }>(h, 'verifiers', CONNECT_TIMEOUT_MS)),
  );
  await addUser(usersFile, { ...ALICE, cameras: [`${REAL_ID}/*`] });
  const certFile = join(dir, 'hub.crt');
  const keyFile = join(dir, 'hub.key');
  await writeFile(certFile, cert.cert);
  await writeFile(keyFile, cert.key, { mode: 0o600 });
  const config: HubConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    kurento: { host: '127.0.0.1', port: 0 },
    tls: { certFile, keyFile },
    viewer: { usersFile },
    gateways: [
      { id: REAL_ID, name: 'Real home', secretHash: await makeVerifier(REAL_SECRET) },
      ...made.flatMap((m) => m.gateways),
    ],
  };
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });

  let h = await startHub();
  hub = h.proc;
  config.listen.port = Number(new URL(h.url).port);
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 }); // the restart takes the same port
  await sleep(3_000);
  const rssEmpty = rssMiB(hub.pid!);
  out.hub_rss_mb_empty = r1(rssEmpty);
  say(`hub up on ${h.url} (pid ${hub.pid}), RSS ${r1(rssEmpty)} MiB with no tunnel`);

  let realConnectedAt = 0;
  gateway = Gateway.start({
    hub: { url: h.tunnelUrl, gatewayId: REAL_ID, secret: REAL_SECRET, tls: { fingerprint256: cert.fingerprint256 } },
    mediaBackendUrl: engine.url,
    cameras: [{ id: CAMERA, name: 'Porch', url: cam.url, username: 'bench', password: 'bench-Cam-pw-1' }],
    // Engine and viewer share 127.0.0.1 here; a gateway refuses loopback media targets unless told.
    allowLanViewers: true,
  } as never);
  gateway.on('state', (s) => {
    if (s === 'connected') realConnectedAt = Date.now();
  });

  const t0 = Date.now();
  for (const c of homes) c.send({ type: 'start', tunnelUrl: h.tunnelUrl, fingerprint256: cert.fingerprint256 });
  for (let s = await status(homes); s.connected < GATEWAYS || !realConnectedAt; s = await status(homes)) {
    if (Date.now() - t0 > CONNECT_TIMEOUT_MS)
      throw new Error(`only ${s.connected} of ${GATEWAYS} connected: ${JSON.stringify(s.states)}`);
    say(
      `  ${s.connected} of ${GATEWAYS} connected (${Math.round((Date.now() - t0) / 1000)} s; scrypt runs ${s.scryptRuns})`,
    );
    await sleep(5_000);
  }
  out.first_connect_s = r1((Date.now() - t0) / 1000);
  await sleep(SETTLE_MS);
  const rss = rssMiB(hub.pid!);
  out.hub_rss_mb_1000 = r1(rss);
  out.hub_rss_kb_per_tunnel = r1(((rss - rssEmpty) * 1024) / GATEWAYS);
  say(
    `all ${GATEWAYS} connected in ${out.first_connect_s} s; hub RSS ${r1(rss)} MiB (${out.hub_rss_kb_per_tunnel} KiB per tunnel)`,
  );

  const idle = cpuWindow(hub.pid!);
  await sleep(IDLE_MS);
  const idleCpu = idle.stop();
  out.hub_idle_cpu_pct = r2(idleCpu.pct);
  out.load_idle = load1();
  say(`hub idle CPU ${r2(idleCpu.pct)} % of a core over ${r1(idleCpu.wallS)} s (load ${out.load_idle})`);

  const quietSignIn: number[] = [];
  const quietFrame: number[] = [];
  const quietFailures: string[] = [];
  for (let i = 0; i < QUIET_RUNS; i++) {
    try {
      const s = await signIn(h.url, cert.cert, ALICE.name, ALICE.password);
      const p = await play(h.url, cert.cert, s.cookie, REAL_ID, CAMERA, FRAME_TIMEOUT_MS);
      quietSignIn.push(s.ms);
      quietFrame.push(p.firstFrameMs);
      await p.close();
    } catch (err) {
      quietFailures.push((err as Error).message); // reported, not fatal: the storm is still worth measuring
    }
    await sleep(2_000);
  }
  if (quietFailures.length) out.quiet_failures = quietFailures;
  out.quiet_signin_ms = r0(median(quietSignIn));
  out.quiet_first_frame_ms = r0(median(quietFrame));
  say(`quiet hub: sign-in ${quietSignIn.map(r0).join(', ')} ms; first frame ${quietFrame.map(r0).join(', ')} ms`);

  // The storm: the hub dies and comes back on the same port with the same state.
  const before = await status(homes);
  const killedAt = Date.now();
  hub.kill('SIGKILL');
  await once(hub, 'exit');
  h = await startHub();
  hub = h.proc;
  const stormCpu = cpuWindow(hub.pid!);
  out.storm_hub_start_ms = h.readyAt - killedAt;
  const viewer = (async () => {
    const s = await signIn(h.url, cert.cert, ALICE.name, ALICE.password);
    const signedInAt = Date.now();
    const p = await play(h.url, cert.cert, s.cookie, REAL_ID, CAMERA, STORM_TIMEOUT_MS);
    return { signInMs: s.ms, signedInAt, p, frameAt: Date.now() };
  })().catch((err: unknown) => err as Error);
  // More sign-ins while the homes return (one at a time), so the storm's sign-in is not a single sample.
  const probes: number[] = [];
  let stormOver = false;
  const probing = (async () => {
    while (!stormOver) {
      const t = Date.now();
      probes.push((await signIn(h.url, cert.cert, ALICE.name, ALICE.password)).ms);
      await sleep(Math.max(0, PROBE_EVERY_MS - (Date.now() - t)));
    }
  })().catch((err: unknown) => err as Error);
  let settled = 0;
  let lastSay = Date.now();
  for (let s = await status(homes); ; s = await status(homes)) {
    const back = s.connectedAt.filter((t) => t > killedAt);
    if (back.length === GATEWAYS && realConnectedAt > killedAt) {
      settled = Math.max(...back, realConnectedAt);
      break;
    }
    if (Date.now() - h.readyAt > STORM_TIMEOUT_MS) {
      // Reported, not fatal: the viewer's figures of a storm that did not settle are still worth having.
      say(`storm: only ${back.length} of ${GATEWAYS} back after ${STORM_TIMEOUT_MS} ms: ${JSON.stringify(s.states)}`);
      out.storm_back_at_timeout = back.length;
      break;
    }
    if (Date.now() - lastSay >= 5_000) {
      lastSay = Date.now();
      say(`  storm +${lastSay - h.readyAt} ms: ${back.length} back; failed attempts: ${JSON.stringify(s.failures)}`);
    }
    await sleep(1_000); // each home's time is taken where it connects; this only polls
  }
  const storm = stormCpu.stop();
  stormOver = true;
  const probeError = await probing;
  if (probeError instanceof Error) out.storm_probe_error = probeError.message;
  if (probes.length) {
    out.storm_signin_probes = probes.length;
    out.storm_signin_ms_median = r0(median(probes));
    out.storm_signin_ms_max = r0(Math.max(...probes));
  }
  if (settled) {
    out.storm_settle_ms = settled - h.readyAt;
    out.storm_total_ms = settled - killedAt;
  }
  out.hub_cpu_pct_storm = r1(storm.pct);
  out.hub_cpu_s_storm = r2(storm.cpuS);
  out.load_storm = load1();
  const after = await status(homes);
  out.storm_scrypt_runs = after.scryptRuns - before.scryptRuns;
  out.storm_hub_log_problems = logProblems(join(dir, `hub-${hubStarts}.log`));
  say(
    `storm: hub restarted in ${out.storm_hub_start_ms} ms; all back ${out.storm_settle_ms} ms after it listened ` +
      `(hub CPU ${out.hub_cpu_pct_storm} % of a core, ${out.hub_cpu_s_storm} s; load ${out.load_storm}); ` +
      `gateway scrypt runs ${out.storm_scrypt_runs}; hub log: ${JSON.stringify(out.storm_hub_log_problems)}`,
  );
  const v = await viewer;
  if (v instanceof Error) out.storm_viewer_error = v.message;
  else {
    out.storm_signin_ms = r0(v.signInMs);
    out.storm_first_frame_ms = r0(v.p.firstFrameMs);
    out.storm_viewer_waited_ms = r0(v.p.waitedMs);
    out.storm_first_frame_at_ms = v.frameAt - h.readyAt;
    out.real_gateway_back_ms = realConnectedAt - h.readyAt;
    await v.p.close();
  }
  say(
    `storm viewer${out.storm_viewer_error ? ` failed: ${String(out.storm_viewer_error)}; ` : ''}: sign-in ${out.storm_signin_ms} ms; waited ${out.storm_viewer_waited_ms} ms for the camera online ` +
      `(real gateway back at ${out.real_gateway_back_ms} ms); first frame ${out.storm_first_frame_ms} ms ` +
      `(quiet ${out.quiet_first_frame_ms} ms), at ${out.storm_first_frame_at_ms} ms into the storm; ` +
      `${probes.length} more sign-ins meanwhile: median ${out.storm_signin_ms_median} ms, worst ${out.storm_signin_ms_max} ms`,
  );
} finally {
  await gateway?.close().catch(() => undefined);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await engine.close().catch(() => undefined);
  await cam.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
if (JSON_OUT) console.log(JSON.stringify(out));
process.exit(0);
