/**
 * `npm run build && node --import tsx test/bench/engine-load.ts [--viewers 1,16 --rounds 2 --node-flags "…" --cpu-prof DIR --heap
 * --viewer-rcvbuf BYTES --viewer-srtp cm|gcm --json]
 * [--base OTHER/gateway-core/dist/engine/index.js --base-node-flags "…"]`: the built-in engine's own CPU
 * and memory, for profiling it (issue 17); with --base, another build beside this one, measured in turns.
 *
 * - engine: alone in a child process run by plain node on the built output
 *   (engine-load-child.mjs; `--node-flags` are given to that node, e.g.
 *   `--cpu-prof` or V8 heap flags), so /proc/<pid>/ figures are the engine's only;
 * - camera: the simulator at 1280x720, 25 fps, an IDR every 4 s (as bench:media);
 * - viewers: werift receivers that decode nothing, in another process
 *   (engine-load-viewers.ts), so 16 of them run at full rate on a small host;
 *   the received frame and packet rates are printed beside the CPU (packets beyond the stream's own are
 *   retransmissions: loss in the viewers' process, which reads 16 sockets in turn; `--viewer-rcvbuf`
 *   gives their sockets a larger SO_RCVBUF, up to net.core.rmem_max); they negotiate AES_CM_128_HMAC_SHA1_80
 *   as Chromium does, or with `--viewer-srtp gcm` AEAD_AES_128_GCM, werift's preference.
 *
 * Prints idle RSS, RSS with one and two cameras pulled (kept warm, no viewer),
 * then per viewer count CPU % of one core (median of the rounds) and RSS; with --heap (engines run with
 * --expose-gc) also RSS, V8 heap and array buffers after a full GC, what the viewers retain.
 * Loopback only, bounded by a watchdog; stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCameraSim } from '@camgate/camera-sim';
import { connectKurento } from '@camgate/test-helpers';

const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string', default: '1,16' },
    rounds: { type: 'string', default: '2' },
    'node-flags': { type: 'string', default: '' },
    base: { type: 'string' },
    'base-node-flags': { type: 'string', default: '' },
    'cpu-prof': { type: 'string' },
    heap: { type: 'boolean', default: false },
    'viewer-rcvbuf': { type: 'string', default: '0' },
    'viewer-srtp': { type: 'string', default: 'cm' },
    window: { type: 'string', default: '12000' },
    json: { type: 'boolean', default: false },
  },
});
if (!['cm', 'gcm'].includes(args['viewer-srtp'])) throw new Error('--viewer-srtp must be cm or gcm');
const VIEWERS = args.viewers.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const WINDOW_MS = Number(args.window); // three GOPs of the camera: three keyframes per window
const WATCHDOG_MS = 20 * 60_000;
const CLK_TCK = 100;

const out = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
async function sample(pid: number, ms: number): Promise<{ cpuPct: number; rssMb: number }> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  return { cpuPct: ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100, rssMb: rssMb(pid) };
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** A child speaking one JSON line per command; an answer may take `timeoutMs` (default 120 s). */
function lines(child: ChildProcess): { rl: Interface; next(timeoutMs?: number): Promise<Record<string, unknown>> } {
  const rl = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  rl.on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
  return {
    rl,
    next: (timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`bench: a child did not answer within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        const take = (l: string): void => {
          clearTimeout(t);
          resolve(JSON.parse(l) as Record<string, unknown>);
        };
        if (queue.length) take(queue.shift()!);
        else waiting.push(take);
      }),
  };
}

interface Engine {
  name: string;
  pid: number;
  url: string;
  ask(cmd: string): Promise<Record<string, unknown>>;
  /** After a full GC (--heap): RSS, V8 heap (reserved, used) and array buffers, MiB. */
  retained(): Promise<Record<string, unknown>>;
}

async function main(): Promise<void> {
  const cleanups: (() => unknown)[] = [];
  const watchdog = setTimeout(() => {
    out('bench:engine-load: watchdog, stopping');
    process.exit(2);
  }, WATCHDOG_MS);
  try {
    const password = randomBytes(9).toString('base64url');
    const cams = [
      await startCameraSim({ username: 'bench', password, width: 1280, height: 720, fps: 25, gopSeconds: 4 }),
      await startCameraSim({ username: 'bench', password, width: 1280, height: 720, fps: 25, gopSeconds: 4 }),
    ];
    for (const c of cams) cleanups.push(() => c.close());
    const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));

    /** One engine child and its viewers child; `entry` is another build's engine (--base). */
    const startEngine = async (name: string, entry: string | undefined, nodeFlags: string[]): Promise<Engine> => {
      const flags = [...nodeFlags];
      if (args.heap) flags.push('--expose-gc');
      if (args['cpu-prof']) flags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}/${name}`);
      const engine = spawn(process.execPath, [...flags, here('./engine-load-child.mjs'), ...(entry ? [entry] : [])], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const engineExited = new Promise<void>((resolve) => engine.once('exit', () => resolve()));
      cleanups.push(async () => {
        engine.stdin!.end(); // the child exits by itself, writing its profile first
        const kill = setTimeout(() => engine.kill('SIGKILL'), 20_000);
        await engineExited;
        clearTimeout(kill);
      });
      const el = lines(engine);
      const { url } = (await el.next()) as { url: string };
      const viewers = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          here('./engine-load-viewers.ts'),
          url,
          cams[0]!.urlWithCredentials,
          args['viewer-rcvbuf'],
          args['viewer-srtp'],
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      cleanups.push(() => viewers.stdin!.end());
      const vl = lines(viewers);
      const ask = async (cmd: string): Promise<Record<string, unknown>> => {
        viewers.stdin!.write(`${cmd}\n`);
        // Opening viewers negotiates each in turn: on a loaded host 16 of them took more than 120 s.
        const r = await vl.next(cmd.startsWith('open ') ? 120_000 + 30_000 * Number(cmd.slice(5)) : undefined);
        if (!r.ok) throw new Error(`bench: viewers: ${String(r.error)}`);
        return r;
      };
      out(`  engine ${name}: pid ${engine.pid}, ${entry ?? 'this build'}, node flags [${flags.join(' ')}]`);
      const retained = (): Promise<Record<string, unknown>> => {
        engine.kill('SIGUSR2');
        return el.next();
      };
      return { name, pid: engine.pid!, url, ask, retained };
    };
    out(
      `bench:engine-load: load ${loadavg()[0]!.toFixed(2)}, viewers' SRTP ${args['viewer-srtp'] === 'gcm' ? 'AEAD_AES_128_GCM' : 'AES_CM_128_HMAC_SHA1_80'}`,
    );
    const engines: Engine[] = [];
    if (args.base)
      engines.push(await startEngine('base', args.base, args['base-node-flags'].split(' ').filter(Boolean)));
    engines.push(await startEngine('this', undefined, args['node-flags'].split(' ').filter(Boolean)));
    await sleep(3_000);

    const result: Record<string, unknown> = {};
    // Memory first, one engine after the other: idle, then one and two cameras kept warm
    // (a player with no viewer, as the gateway's keepWarm does), each with a whole GOP cached.
    for (const e of engines) {
      const idle = await sample(e.pid, 4_000);
      out(`  ${e.name} idle: ${r1(idle.cpuPct)} % CPU, ${r1(idle.rssMb)} MiB RSS`);
      const client = await connectKurento(e.url);
      const warm: { release(): Promise<void> }[] = [];
      const pulled: number[] = [];
      for (const cam of cams) {
        const pipeline = await client.create('MediaPipeline');
        const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
        await player.play();
        warm.push(pipeline);
        await sleep(6_000);
        const s = await sample(e.pid, 4_000);
        pulled.push(s.rssMb);
        out(`  ${e.name} ${pulled.length} camera(s) pulled, no viewer: ${r1(s.cpuPct)} % CPU, ${r1(s.rssMb)} MiB RSS`);
      }
      // The viewer rows measure one pull and its viewers, as bench:media does.
      for (const p of warm) await p.release();
      client.close();
      Object.assign(result, {
        [`${e.name}_rss_mb_idle`]: r1(idle.rssMb),
        [`${e.name}_rss_mb_1_camera`]: r1(pulled[0]!),
        [`${e.name}_rss_mb_2_cameras`]: r1(pulled[1]!),
        [`${e.name}_rss_mb_per_camera`]: r1((pulled[1]! - idle.rssMb) / 2),
      });
    }
    await sleep(2_000);

    // CPU with viewers: the engines in turns, window by window, so host drift falls on both.
    const rows: Record<string, { cpu: number[]; rss: number[]; fps: number[]; pps: number[]; heap: number[] }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of VIEWERS) {
        for (const e of engines) {
          await e.ask(`open ${n}`);
          // Every viewer receiving (ICE, DTLS and the GOP replay done), bounded.
          const deadline = Date.now() + 60_000;
          while (((await e.ask('stats')).frames as number[]).some((f) => f === 0) && Date.now() < deadline) {
            await sleep(500);
          }
          await sleep(2_000);
          const before = await e.ask('stats');
          const s = await sample(e.pid, WINDOW_MS);
          const after = await e.ask('stats');
          const rate = (k: string): number => {
            const [a, b] = [before[k] as number[], after[k] as number[]];
            return median(b.map((x, i) => (x - a[i]!) / (WINDOW_MS / 1000)));
          };
          const fps = rate('frames');
          // Packets a viewer received per second: the stream's own plus the retransmissions that arrived.
          const pps = rate('packets');
          const row = (rows[`${e.name}_${n}`] ??= { cpu: [], rss: [], fps: [], pps: [], heap: [] });
          row.cpu.push(s.cpuPct);
          row.rss.push(s.rssMb);
          row.fps.push(fps);
          row.pps.push(pps);
          const kept = args.heap ? await e.retained() : undefined;
          if (kept) row.heap.push(kept.heapUsed as number);
          out(
            `  round ${round + 1}, ${e.name}, ${n} viewer(s): ${r1(s.cpuPct)} % CPU, ${r1(s.rssMb)} MiB RSS, ` +
              `${r1(fps)} fps and ${Math.round(pps)} packets/s received (medians), load ${loadavg()[0]!.toFixed(2)}` +
              (kept ? `; after a full GC: ${JSON.stringify(kept)}` : ''),
          );
          await e.ask('close');
          await sleep(1_500);
        }
      }
    }
    for (const [k, row] of Object.entries(rows)) {
      Object.assign(result, {
        [`${k}_viewers_cpu_pct`]: r1(median(row.cpu)),
        [`${k}_viewers_cpu_pct_rounds`]: row.cpu.map(r1),
        [`${k}_viewers_rss_mb`]: r1(median(row.rss)),
        [`${k}_viewers_fps`]: r1(median(row.fps)),
        [`${k}_viewers_packets_per_s`]: Math.round(median(row.pps)),
        ...(row.heap.length ? { [`${k}_viewers_heap_used_mb_after_gc`]: r1(median(row.heap)) } : {}),
      });
    }
    result.load_average_1m = r1(loadavg()[0]!);
    out(JSON.stringify(result));
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    clearTimeout(watchdog);
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // keep tearing down the rest
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:engine-load failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
