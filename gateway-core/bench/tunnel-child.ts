/**
 * The far ends of `bench:tunnel`, each in its own process so that one event
 * loop does not do every component's work (in a deployment the hub, the
 * gateway and the media backend are different machines):
 *
 *   tunnel-child.ts engine    — the built-in engine on 127.0.0.1:0; prints `{"url": …}`.
 *   tunnel-child.ts receiver  — a TunnelClient (the gateway end of the tunnel) dialling
 *                               CAMGATE_BENCH_HUB_URL as CAMGATE_BENCH_GATEWAY_ID with
 *                               CAMGATE_BENCH_SECRET (environment, so it is not in `ps`);
 *                               prints `{"connected": true}` once the tunnel is up.
 *
 * The receiver counts the DATA messages of every channel the hub opens. The
 * channel's OPEN meta says how many to expect (`count`) and how often to
 * grant credit (`creditEvery`): the receiver answers `{"n": received}` every
 * `creditEvery` messages — the sender's in-flight window — and at the end
 * `{"done": n, "firstMs": …, "lastMs": …}`, the times (this process's
 * `performance.now()`) of the first and last message received. Counting and
 * timing happen here, at the receiver.
 *
 * Loopback only; exits when stdin closes (the parent went away) or on SIGTERM.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

// The tunnel's own client is internal to the core, which is why this bench lives in gateway-core/bench.
type EngineModule = typeof import('../src/engine/index.js');
type TunnelModule = typeof import('../src/tunnel/index.js');

// The built output when `npm run build` made it (what users run); the sources otherwise.
async function load<T>(folder: string): Promise<T> {
  const dist = fileURLToPath(new URL(`../dist/${folder}/index.js`, import.meta.url));
  return (existsSync(dist) ? await import(dist) : await import(`../src/${folder}/index.js`)) as T;
}

const role = process.argv[2];
const closers: (() => Promise<void>)[] = [];
let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  Promise.allSettled(closers.map((c) => c())).finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

function say(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

if (role === 'engine') {
  const { KurentoEngine } = await load<EngineModule>('engine');
  const engine = await KurentoEngine.start({ port: 0, host: '127.0.0.1' });
  closers.push(() => engine.close());
  say({ url: engine.url });
} else if (role === 'receiver') {
  const { TunnelClient } = await load<TunnelModule>('tunnel');
  const env = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`tunnel-child receiver: ${name} is not set`);
    return v;
  };
  const url = env('CAMGATE_BENCH_HUB_URL');
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== '[::1]') throw new Error(`tunnel-child: ${url} is not loopback`);
  const client = new TunnelClient({
    url,
    gatewayId: env('CAMGATE_BENCH_GATEWAY_ID'),
    secret: env('CAMGATE_BENCH_SECRET'),
  });
  closers.push(() => client.close());
  client.on('state', (state, info) => {
    if (state === 'connected') say({ connected: true });
    else if (state === 'refused') {
      say({ refused: info.code ?? 'refused' });
      stop();
    }
  });
  client.on('channel', (ch) => {
    const count = Number(ch.meta.count);
    const creditEvery = Number(ch.meta.creditEvery);
    if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(creditEvery) || creditEvery < 1) {
      ch.close(1008, 'bench channel meta needs count and creditEvery');
      return;
    }
    let received = 0;
    let firstMs = 0;
    ch.on('message', (text) => {
      if (received === 0) firstMs = performance.now();
      // Every message is counted; its length is checked so an empty or cut one is noticed.
      if (text.length < 2) throw new Error(`short bench message: ${JSON.stringify(text)}`);
      received++;
      if (received === count) ch.send(JSON.stringify({ done: received, firstMs, lastMs: performance.now() }));
      else if (received % creditEvery === 0) ch.send(`{"n":${received}}`);
    });
  });
  client.start();
} else {
  throw new Error(`tunnel-child: unknown role ${JSON.stringify(role)} (engine | receiver)`);
}
