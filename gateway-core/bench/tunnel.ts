/**
 * `npm run bench:tunnel [-- --json]`: what the tunnel carries and what it
 * costs the Kurento control path against a direct connection. Loopback only.
 *
 * 1. **Tunnel throughput** (`tunnel_msgs_per_s`, the figure the 20,000
 *    messages/s target names): ~100-byte Kurento-like JSON-RPC messages sent
 *    hub → gateway through ONE channel, pipelined with a bounded in-flight
 *    window (the receiver grants credit every CREDIT_EVERY messages), counted
 *    and timed at the receiver; then the same spread over 8 channels. The
 *    receiving gateway end (a TunnelClient) runs in its own process
 *    (tunnel-child.ts), so the two ends do not share one event loop.
 * 2. **Kurento round trips**: the same JSON-RPC workload — a `ping` and an
 *    `invoke` (`getMediaState` on a WebRtcEndpoint: allowed by the gateway's
 *    policy, answered by the engine without media) — direct to the engine and
 *    through hub → tunnel → gateway (policy) → engine: p50/p99 one request at
 *    a time, then round trips per second with PIPELINE requests in flight.
 *    The engine runs in its own process (as on its own machine in a
 *    deployment); the client, hub and gateway share this one.
 * 3. **Reconnect**: the time from the hub coming back after a 5 s outage to a
 *    Kurento request through the tunnel being answered, three times
 *    (median), with the gateway's default settings.
 *
 * Bounded loops, stops by itself. With `--json` the last line printed is one
 * JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Gateway, Hub, makeVerifier } from '@camgate/core';

const JSON_OUT = process.argv.includes('--json');
const WARMUP = 500; // round trips per workload before measuring (JIT, socket buffers)
const SAMPLES = 5_000; // measured round trips per workload, one at a time
const PIPELINED = 40_000; // round trips in the throughput run
const PIPELINE = 64; // requests in flight in the throughput run
const OUTAGE_MS = 5_000; // hub down for 5 s
const OUTAGES = 3;
const RAW_MESSAGES = 200_000; // messages per tunnel throughput run (split over the channels)
const RAW_WARMUP = 20_000; // messages through the tunnel before measuring
const RAW_WINDOW = 1_024; // messages in flight per channel (sent, not yet credited by the receiver)
const CREDIT_EVERY = 128; // the receiver grants credit after this many messages
const GATEWAY_ID = 'bench-gw';
const RAW_GATEWAY_ID = 'bench-raw-gw';
const SECRET = 'bench-secret-4kT9wQ2mZr7Lp';

/** A minimal JSON-RPC 2.0 client over one WebSocket: the same code path for both targets. */
class Rpc {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  #next = 1;
  sessionId: string | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: unknown };
      if (typeof msg.id !== 'number') return; // onEvent notifications
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`JSON-RPC error: ${JSON.stringify(msg.error)}`));
      else p.resolve(msg.result ?? {});
    });
    ws.on('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error('connection closed'));
      this.#pending.clear();
    });
  }

  static async open(url: string): Promise<Rpc> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Rpc(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const p = new Promise<Record<string, unknown>>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    // Like kurento-client: every request but ping names the session.
    if (this.sessionId && method !== 'ping') params = { ...params, sessionId: this.sessionId };
    this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return p;
  }

  close(): void {
    this.#ws.close();
  }
}

interface Workload {
  name: string;
  run(): Promise<unknown>;
}

/** Opens a session with a pipeline and a WebRtcEndpoint, and returns the two workloads on it. */
async function prepare(url: string): Promise<{ rpc: Rpc; workloads: Workload[] }> {
  const rpc = await Rpc.open(url);
  const pipeline = await rpc.call('create', { type: 'MediaPipeline', constructorParams: {}, properties: {} });
  rpc.sessionId = String(pipeline.sessionId);
  const webrtc = await rpc.call('create', {
    type: 'WebRtcEndpoint',
    constructorParams: { mediaPipeline: pipeline.value },
    properties: {},
  });
  const object = String(webrtc.value);
  const state = await rpc.call('invoke', { object, operation: 'getMediaState', operationParams: {} });
  if (typeof state.value !== 'string') throw new Error(`getMediaState answered ${JSON.stringify(state)}`);
  return {
    rpc,
    workloads: [
      { name: 'ping', run: () => rpc.call('ping', {}) },
      { name: 'invoke', run: () => rpc.call('invoke', { object, operation: 'getMediaState', operationParams: {} }) },
    ],
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Latency {
  p50: number;
  p99: number;
  perSecond: number;
}

/** One request at a time: latency percentiles (ms) and the sequential rate. */
async function latency(w: Workload): Promise<Latency> {
  for (let i = 0; i < WARMUP; i++) await w.run();
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await w.run();
    samples.push(performance.now() - t0);
  }
  const elapsed = performance.now() - start;
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), perSecond: (SAMPLES / elapsed) * 1000 };
}

/** PIPELINE requests in flight, alternating the workloads: completed round trips per second. */
async function throughput(workloads: Workload[]): Promise<number> {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < PIPELINED) {
      const w = workloads[issued++ % workloads.length]!;
      await w.run();
    }
  };
  for (let i = 0; i < WARMUP; i++) await workloads[i % workloads.length]!.run();
  const start = performance.now();
  await Promise.all(Array.from({ length: PIPELINE }, worker));
  return (issued / (performance.now() - start)) * 1000;
}

async function measure(url: string): Promise<{ ping: Latency; invoke: Latency; pipelined: number }> {
  const { rpc, workloads } = await prepare(url);
  try {
    const ping = await latency(workloads[0]!);
    const invoke = await latency(workloads[1]!);
    const pipelined = await throughput(workloads);
    return { ping, invoke, pipelined };
  } finally {
    rpc.close();
  }
}

interface Child {
  proc: ChildProcess;
  /** The next JSON line the child prints. */
  next(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `tunnel-child.ts ROLE` with this node and tsx; it exits when its stdin closes. */
function startChild(role: 'engine' | 'receiver', env: Record<string, string> = {}): Child {
  const script = fileURLToPath(new URL('./tunnel-child.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', script, role], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const exited = once(proc, 'exit');
  return {
    proc,
    async next() {
      const r = await lines.next();
      if (r.done) throw new Error(`tunnel-child ${role} exited before answering`);
      return JSON.parse(r.value) as Record<string, unknown>;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A ~100-byte Kurento request, like the ones a viewer's kurento-client sends (JSON-RPC 2.0 §4). */
function kurentoLike(i: number): string {
  return `{"jsonrpc":"2.0","id":${i},"method":"invoke","params":{"object":"9c1e_kurento.WebRtcEndpoint","operation":"play"}}`;
}

type Tunnelled = ReturnType<NonNullable<ReturnType<Hub['tunnels']['peer']>>['openChannel']>;

/**
 * Sends `perChannel` messages hub → gateway on each of `channels` channels at once,
 * at most RAW_WINDOW in flight per channel, and returns messages per second as the
 * receiver counted and timed them (all messages / first-to-last receive time).
 */
async function rawThroughput(hub: Hub, channels: number, perChannel: number): Promise<number> {
  const peer = hub.tunnels.peer(RAW_GATEWAY_ID);
  if (!peer?.online) throw new Error('the receiver is not connected');
  const run = (ch: Tunnelled): Promise<{ done: number; firstMs: number; lastMs: number }> =>
    new Promise((resolve, reject) => {
      let sent = 0;
      let credited = 0;
      const pump = (): void => {
        while (sent < perChannel && sent - credited < RAW_WINDOW) ch.send(kurentoLike(sent++));
      };
      ch.on('message', (text) => {
        const m = JSON.parse(text) as { n?: number; done?: number; firstMs?: number; lastMs?: number };
        if (typeof m.done === 'number') {
          if (m.done !== perChannel) reject(new Error(`receiver counted ${m.done} of ${perChannel}`));
          else resolve({ done: m.done, firstMs: Number(m.firstMs), lastMs: Number(m.lastMs) });
          ch.close();
          return;
        }
        credited = Number(m.n);
        pump();
      });
      ch.on('close', ({ code, reason }) => reject(new Error(`channel closed early: ${code} ${reason}`)));
      pump();
    });
  const results = await Promise.all(
    Array.from({ length: channels }, () =>
      run(peer.openChannel({ bench: 'raw', count: perChannel, creditEvery: CREDIT_EVERY })),
    ),
  );
  const total = results.reduce((a, r) => a + r.done, 0);
  const first = Math.min(...results.map((r) => r.firstMs));
  const last = Math.max(...results.map((r) => r.lastMs));
  return (total / (last - first)) * 1000;
}

function startHub(verifier: string, ports: { listen: number; kurento: number }): Promise<Hub> {
  return Hub.start({
    listen: { host: '127.0.0.1', port: ports.listen },
    kurento: { host: '127.0.0.1', port: ports.kurento },
    gateways: [
      { id: GATEWAY_ID, secretHash: verifier },
      { id: RAW_GATEWAY_ID, secretHash: verifier },
    ],
  });
}

/** Hub down for OUTAGE_MS, then back on the same ports: ms from listening again to a ping answered through the tunnel. */
async function outage(hub: Hub, gateway: Gateway, verifier: string): Promise<{ hub: Hub; ms: number }> {
  const ports = { listen: Number(new URL(hub.url).port), kurento: Number(new URL(hub.kurentoUrl('x')).port) };
  const down = once(gateway, 'state');
  await hub.close();
  await down;
  await sleep(OUTAGE_MS);
  const back = await startHub(verifier, ports);
  const t0 = performance.now();
  const deadline = t0 + 30_000;
  for (;;) {
    const peer = back.tunnels.peer(GATEWAY_ID);
    if (!peer?.online) {
      await once(back, 'gateway');
      continue;
    }
    try {
      const rpc = await Rpc.open(back.kurentoUrl(GATEWAY_ID));
      await rpc.call('ping', {});
      rpc.close();
      return { hub: back, ms: performance.now() - t0 };
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(10);
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const f = (n: number, digits = 3): string => n.toFixed(digits);

/** Resolves when `gatewayId` is online at `hub`. */
async function online(hub: Hub, gatewayId: string): Promise<void> {
  while (!hub.tunnels.peer(gatewayId)?.online) await once(hub, 'gateway');
}

async function main(): Promise<void> {
  const verifier = await makeVerifier(SECRET);
  let hub = await startHub(verifier, { listen: 0, kurento: 0 });
  const engineChild = startChild('engine');
  let receiver: Child | undefined;
  let gateway: Gateway | undefined;
  try {
    // 1. Raw tunnel throughput, hub → gateway (a TunnelClient in its own process).
    receiver = startChild('receiver', {
      CAMGATE_BENCH_HUB_URL: hub.tunnelUrl,
      CAMGATE_BENCH_GATEWAY_ID: RAW_GATEWAY_ID,
      CAMGATE_BENCH_SECRET: SECRET,
    });
    const hello = await receiver.next();
    if (hello.connected !== true) throw new Error(`receiver: ${JSON.stringify(hello)}`);
    await online(hub, RAW_GATEWAY_ID);
    await rawThroughput(hub, 1, RAW_WARMUP);
    const raw1 = await rawThroughput(hub, 1, RAW_MESSAGES);
    const raw8 = await rawThroughput(hub, 8, RAW_MESSAGES / 8);
    await receiver.stop();
    receiver = undefined;

    // 2. Kurento round trips, direct and through hub + tunnel + gateway; the engine in its own process.
    const engineUrl = String((await engineChild.next()).url);
    // Default gateway settings (backoff 250 ms ×2 ≤ 2 s), as the reconnect target asks.
    gateway = Gateway.start({
      hub: { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET },
      mediaBackendUrl: engineUrl,
    });
    gateway.on('state', () => undefined);
    await online(hub, GATEWAY_ID);
    const direct = await measure(engineUrl);
    const tunnel = await measure(hub.kurentoUrl(GATEWAY_ID));

    // 3. Reconnect after hub outages.
    const outages: number[] = [];
    for (let i = 0; i < OUTAGES; i++) {
      const r = await outage(hub, gateway, verifier);
      hub = r.hub;
      outages.push(r.ms);
    }

    const rows: [string, string, string, string][] = [
      ['workload', 'direct', 'hub+tunnel+gateway', 'ratio'],
      ...(['ping', 'invoke'] as const).flatMap((k): [string, string, string, string][] => [
        [`${k} p50 ms`, f(direct[k].p50), f(tunnel[k].p50), f(tunnel[k].p50 / direct[k].p50, 2)],
        [`${k} p99 ms`, f(direct[k].p99), f(tunnel[k].p99), f(tunnel[k].p99 / direct[k].p99, 2)],
        [
          `${k} round trips/s (1 in flight)`,
          f(direct[k].perSecond, 0),
          f(tunnel[k].perSecond, 0),
          f(tunnel[k].perSecond / direct[k].perSecond, 2),
        ],
      ]),
      [
        `round trips/s (${PIPELINE} in flight)`,
        f(direct.pipelined, 0),
        f(tunnel.pipelined, 0),
        f(tunnel.pipelined / direct.pipelined, 2),
      ],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    console.log(`tunnel benchmark — loopback, node ${process.version}, load average ${loadavg()}`);
    console.log(
      `tunnel throughput, hub → gateway (receiver in its own process), ${kurentoLike(0).length}-byte messages, ` +
        `${RAW_WINDOW} in flight per channel: 1 channel ${f(raw1, 0)} msgs/s; 8 channels ${f(raw8, 0)} msgs/s`,
    );
    console.log(`Kurento JSON-RPC (engine in its own process), ${SAMPLES} samples per latency row:`);
    for (const r of rows)
      console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    console.log(
      `reconnect after a ${OUTAGE_MS / 1000} s hub outage (hub listening → request answered): ${outages.map((m) => f(m, 0)).join(', ')} ms; median ${f(median(outages), 0)} ms`,
    );
    const directP50 = direct.invoke.p50;
    const tunnelP50 = tunnel.invoke.p50;
    const result = {
      direct_p50_ms: Number(f(directP50)),
      tunnel_p50_ms: Number(f(tunnelP50)),
      added_p50_ms: Number(f(tunnelP50 - directP50)),
      tunnel_p99_ms: Number(f(tunnel.invoke.p99)),
      direct_ping_p50_ms: Number(f(direct.ping.p50)),
      tunnel_ping_p50_ms: Number(f(tunnel.ping.p50)),
      added_ping_p50_ms: Number(f(tunnel.ping.p50 - direct.ping.p50)),
      tunnel_ping_p99_ms: Number(f(tunnel.ping.p99)),
      tunnel_msgs_per_s: Math.round(raw1),
      tunnel_msgs_per_s_8_channels: Math.round(raw8),
      tunnel_msgs_unit: `${kurentoLike(0).length}-byte messages hub → gateway, one direction, counted at the receiver`,
      tunnel_window_per_channel: RAW_WINDOW,
      kurento_round_trips_per_s: Math.round(tunnel.pipelined),
      direct_round_trips_per_s: Math.round(direct.pipelined),
      kurento_sequential_round_trips_per_s: Math.round(tunnel.invoke.perSecond),
      pipeline_depth: PIPELINE,
      reconnect_after_outage_ms: Math.round(median(outages)),
      reconnect_samples_ms: outages.map((m) => Math.round(m)),
      loadavg: loadavg(),
      targets: {
        added_p50_under_0_5_ms: tunnelP50 - directP50 < 0.5,
        msgs_per_s_at_least_20000: raw1 >= 20_000,
        reconnect_under_3_s: median(outages) < 3_000,
      },
    };
    console.log(
      `targets: added p50 ${f(result.added_p50_ms)} ms (< 0.5: ${result.targets.added_p50_under_0_5_ms}), ` +
        `${result.tunnel_msgs_per_s} msgs/s through one channel (>= 20000: ${result.targets.msgs_per_s_at_least_20000}), ` +
        `reconnect ${result.reconnect_after_outage_ms} ms (< 3000: ${result.targets.reconnect_under_3_s})`,
    );
    if (JSON_OUT) console.log(JSON.stringify(result));
  } finally {
    await receiver?.stop();
    await gateway?.close();
    await hub.close();
    await engineChild.stop();
  }
}

/** The 1, 5 and 15 minute load averages: the machine is shared, so the figures need their context. */
function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

await main();
