/**
 * `npm run bench:tunnel [-- --json]`: what the tunnel costs the Kurento
 * control path (issue 2, "Benchmark"). On loopback, against the built-in
 * engine, the same JSON-RPC workload — a `ping` round trip and an `invoke`
 * round trip (`getMediaState` on a WebRtcEndpoint: allowed by the gateway's
 * policy, answered by the engine without media) — runs
 *   1. direct to the engine, and
 *   2. through hub → tunnel → gateway (policy) → engine,
 * measuring p50/p99 latency one request at a time, then round trips per
 * second with PIPELINE requests in flight. Last, the time from the hub coming
 * back after a 5 s outage to a Kurento request through the tunnel being
 * answered, three times (median), with the gateway's default settings.
 *
 * Bounded loops, loopback only, stops by itself. With `--json` the last line
 * printed is one JSON object.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { Gateway, Hub, KurentoEngine, makeVerifier } from '@camgate/core';

const JSON_OUT = process.argv.includes('--json');
const WARMUP = 500; // round trips per workload before measuring (JIT, socket buffers)
const SAMPLES = 5_000; // measured round trips per workload, one at a time
const PIPELINED = 40_000; // round trips in the throughput run
const PIPELINE = 64; // requests in flight in the throughput run
const OUTAGE_MS = 5_000; // hub down for 5 s
const OUTAGES = 3;
const GATEWAY_ID = 'bench-gw';
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

function startHub(verifier: string, ports: { listen: number; kurento: number }): Promise<Hub> {
  return Hub.start({
    listen: { host: '127.0.0.1', port: ports.listen },
    kurento: { host: '127.0.0.1', port: ports.kurento },
    gateways: [{ id: GATEWAY_ID, secretHash: verifier }],
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

async function main(): Promise<void> {
  const engine = await KurentoEngine.start({ port: 0 });
  const verifier = await makeVerifier(SECRET);
  let hub = await startHub(verifier, { listen: 0, kurento: 0 });
  const online = once(hub, 'gateway');
  // Default gateway settings (backoff 250 ms ×2 ≤ 2 s), as the reconnect target asks.
  const gateway = Gateway.start({
    hub: { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET },
    mediaBackendUrl: engine.url,
  });
  gateway.on('state', () => undefined);
  try {
    await online;
    const direct = await measure(engine.url);
    const tunnel = await measure(hub.kurentoUrl(GATEWAY_ID));
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
    console.log(
      `tunnel benchmark — loopback, built-in engine, node ${process.version}; ${SAMPLES} samples per latency row`,
    );
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
      direct_msgs_per_s: Math.round(direct.pipelined),
      tunnel_msgs_per_s: Math.round(tunnel.pipelined),
      tunnel_sequential_msgs_per_s: Math.round(tunnel.invoke.perSecond),
      msgs_per_s_unit: 'request/response round trips per second',
      pipeline_depth: PIPELINE,
      reconnect_after_outage_ms: Math.round(median(outages)),
      reconnect_samples_ms: outages.map((m) => Math.round(m)),
      targets: {
        added_p50_under_0_5_ms: tunnelP50 - directP50 < 0.5,
        msgs_per_s_at_least_20000: tunnel.pipelined >= 20_000,
        reconnect_under_3_s: median(outages) < 3_000,
      },
    };
    console.log(
      `targets: added p50 ${f(result.added_p50_ms)} ms (< 0.5: ${result.targets.added_p50_under_0_5_ms}), ` +
        `${result.tunnel_msgs_per_s} round trips/s (>= 20000: ${result.targets.msgs_per_s_at_least_20000}), ` +
        `reconnect ${result.reconnect_after_outage_ms} ms (< 3000: ${result.targets.reconnect_under_3_s})`,
    );
    if (JSON_OUT) console.log(JSON.stringify(result));
  } finally {
    await gateway.close();
    await hub.close();
    await engine.close();
  }
}

await main();
