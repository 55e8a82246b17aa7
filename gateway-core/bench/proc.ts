/**
 * What one process costs, read from Linux's /proc (proc(5)) by another
 * process, so the measured process does no work to report it: CPU time
 * (`/proc/PID/stat` utime + stime, in clock ticks) and resident memory
 * (`/proc/PID/status` VmRSS). Used by `bench:hub` for its hub child.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on, asked once anyway). */
const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) the process has used so far. NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces (proc(5): field 2).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** Resident set size in MiB (VmRSS). NaN when the process is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A CPU window: `stop()` gives the process's CPU use over it as % of one core. */
export function cpuWindow(pid: number): { stop(): { pct: number; cpuS: number; wallS: number } } {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  return {
    stop() {
      const cpuS = cpuSeconds(pid) - c0;
      const wallS = (performance.now() - t0) / 1000;
      return { pct: (100 * cpuS) / wallS, cpuS, wallS };
    },
  };
}

/** The 1-minute load average, rounded, to print beside CPU figures (the machine is shared). */
export function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
