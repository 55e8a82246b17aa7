/**
 * `npm run bench:scan [-- --json]`: how long one exposure scan of one host
 * takes on the default camera port set, with the
 * built-in probes and with nmap (`-sT` connect scan, then the same probes on
 * what nmap found open), in the same run, against 127.0.0.1. Each engine runs
 * REPS times, alternating so that neither always runs on a warmer system; the
 * median of each and their ratio (nmap / built-in) are printed.
 *
 * To make the probes do real work, the camera simulator listens on free
 * loopback ports with RTSP, an HTTP page and a telnet prompt, added to the
 * port set (as configured camera ports are); the rest of the default ports
 * are whatever 127.0.0.1 has (normally closed: refused at once).
 *
 * Loopback only, bounded, stops by itself. With `--json` the last line is one
 * JSON object with builtin_ms, nmap_ms and ratio.
 */
import { performance } from 'node:perf_hooks';
import { startCameraSim } from '@camgate/camera-sim';
import { DEFAULT_EXPOSURE_PORTS, ExposureScanner, TargetPolicy } from '@camgate/core';

const JSON_OUT = process.argv.includes('--json');
const REPS = 7; // scans per engine; odd, so the median is one measured scan
const WARMUP = 1; // scans per engine before measuring (JIT, nmap's page cache)
const TARGET = '127.0.0.1';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

async function main(): Promise<void> {
  // A small picture: nobody watches, the simulator only has to answer the probes.
  const cam = await startCameraSim({
    host: TARGET,
    port: 0,
    width: 64,
    height: 64,
    fps: 1,
    vulnerable: { http: true, telnet: true },
  });
  try {
    const ports = [...DEFAULT_EXPOSURE_PORTS, cam.port, cam.httpPort!, cam.telnetPort!];
    const scanner = await ExposureScanner.create({
      policy: new TargetPolicy({ allow: [TARGET] }),
      engine: 'nmap',
      portProtocols: { [cam.port]: 'rtsp', [cam.httpPort!]: 'http', [cam.telnetPort!]: 'telnet' },
    });
    const times: Record<'builtin' | 'nmap', number[]> = { builtin: [], nmap: [] };
    const open: Record<'builtin' | 'nmap', number[]> = { builtin: [], nmap: [] };
    for (let i = 0; i < WARMUP + REPS; i++) {
      for (const engine of i % 2 === 0 ? (['builtin', 'nmap'] as const) : (['nmap', 'builtin'] as const)) {
        const t0 = performance.now();
        const r = await scanner.scan(TARGET, ports, { engine });
        const ms = performance.now() - t0;
        if (i >= WARMUP) times[engine].push(ms);
        open[engine] = r.open.map((e) => e.port);
      }
    }
    if (open.builtin.join() !== open.nmap.join())
      throw new Error(`engines disagree: builtin found ${open.builtin.join()} and nmap ${open.nmap.join()}`);
    const builtin = median(times.builtin);
    const nmap = median(times.nmap);
    const result = {
      target: TARGET,
      ports: ports.length,
      open_ports: open.builtin,
      reps: REPS,
      nmap_version: scanner.nmapVersion,
      builtin_ms: round(builtin),
      nmap_ms: round(nmap),
      ratio: Math.round((nmap / builtin) * 100) / 100,
      builtin_all_ms: times.builtin.map(round),
      nmap_all_ms: times.nmap.map(round),
    };
    console.log(`scan of ${TARGET}, ${ports.length} ports (${open.builtin.length} open), median of ${REPS}:`);
    console.log(`  built-in probes  ${result.builtin_ms} ms`);
    console.log(`  nmap ${scanner.nmapVersion ?? '?'}       ${result.nmap_ms} ms`);
    console.log(`  ratio nmap / built-in  ${result.ratio}`);
    if (JSON_OUT) console.log(JSON.stringify(result));
  } finally {
    await cam.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
