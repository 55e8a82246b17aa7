/**
 * CPU and memory of other processes from /proc (proc(5)), for the benchmarks:
 * each server under test runs in its own process, so its utime+stime and
 * VmRSS are its own. Small statistics helpers beside them.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const CLK_TCK = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** utime+stime in seconds from a /proc stat line (proc(5): fields 14 and 15, after the `(comm)` field). */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds of a whole process and of its main thread (the event loop, for Node). */
export function cpuSeconds(pid: number): { all: number; main: number } {
  let main = 0;
  try {
    main = statCpuSeconds(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    // no per-thread accounting: the split is reported as 0 for the helpers
  }
  const all = statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { all, main: main || all };
}

export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export type Sample = { cpuPct: number; mainThreadPct: number; rssMb: number };

/**
 * CPU % of one core over a fixed wall-clock window, and RSS at its end, of the
 * processes `pids` together (a server and its helper children; the first is
 * the main one, whose main thread is reported apart: for the engine the rest
 * is V8's helper threads (garbage collection, compilation) and libuv's).
 * A process that ends during the window counts with what it used until then.
 */
export async function sample(pids: number | readonly number[], windowMs: number): Promise<Sample> {
  const list = typeof pids === 'number' ? [pids] : pids;
  const read = (pid: number): { all: number; main: number } => {
    try {
      return cpuSeconds(pid);
    } catch {
      return { all: Number.NaN, main: Number.NaN };
    }
  };
  const c0 = list.map(read);
  const t0 = process.hrtime.bigint();
  await sleep(windowMs);
  const c1 = list.map(read);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  let all = 0;
  for (let i = 0; i < list.length; i++) {
    const d = c1[i]!.all - c0[i]!.all;
    if (Number.isFinite(d)) all += d;
  }
  const rss = list.reduce((sum, pid) => {
    try {
      return sum + rssMb(pid);
    } catch {
      return sum;
    }
  }, 0);
  return {
    cpuPct: (all / wall) * 100,
    mainThreadPct: ((c1[0]!.main - c0[0]!.main) / wall) * 100,
    rssMb: rss,
  };
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** Polls `probe` every 20 ms until it returns a value; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`bench: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}
