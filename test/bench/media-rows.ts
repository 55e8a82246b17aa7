/**
 * One row of `bench:media`: a server under test (the engine, Janus or KMS)
 * feeding `n` receivers that do not decode (werift-receivers.ts), its CPU and
 * RSS over one window once every receiver has a frame, and the frame rate
 * the receivers actually got in that window, so a row that measured a
 * starved pipeline says so.
 */
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, round, sample, waitFor, type Sample } from './proc-sample.js';
import type { Receiver } from './werift-receivers.js';

/** A server under test: the processes whose CPU counts, and how to add one receiver. */
export interface Peer {
  name: 'engine' | 'Janus' | 'KMS';
  pids(): number[];
  open(): Promise<Receiver>;
  /** Replace a receiver that got nothing (werift: a lost DTLS handshake); not for Chromium tabs a starved host slows. */
  retry: boolean;
}

export type Row = Sample & {
  /** Median over receivers of complete frames received per second in the window. */
  fpsPerViewer: number;
  /** The slowest receiver's frames per second. */
  fpsMin: number;
  /** Packets lost in the window over packets expected, all receivers, %. */
  lossPct: number;
};

export interface RowOptions {
  windowMs: number;
  settleMs: number;
  /** Frames per second the camera sends (a row below 80 % of it is flagged). */
  cameraFps: number;
  out: (line: string) => void;
}

const FIRST_FRAME_TIMEOUT_MS = 15_000; // per receiver attempt, on a loaded 2-core host (a GOP replay or an IDR: ≤ 4 s)
const ATTEMPTS = 3;

/** `n` receivers from `peer`; CPU/RSS of its processes over one window once all of them receive. */
export async function measureRow(peer: Peer, n: number, o: RowOptions): Promise<Row> {
  const receivers: Receiver[] = [];
  try {
    let silent = 0;
    let retries = 0;
    for (let i = 0; i < n; i++) {
      // werift-to-werift DTLS (the engine and these receivers) sometimes leaves one side without SRTP keys
      // under load: both report "connected" and nothing flows. Such a receiver is replaced, and counted.
      for (let attempt = 1; ; attempt++) {
        const r = await peer.open();
        const ok = await waitFor('a first frame at a receiver', FIRST_FRAME_TIMEOUT_MS, async () =>
          (await r.stats()).firstFrameAt > 0 ? true : undefined,
        ).catch(() => false);
        if (ok || !peer.retry || attempt === ATTEMPTS) {
          receivers.push(r);
          if (!ok) silent++;
          break;
        }
        retries++;
        await r.close();
      }
    }
    if (retries > 0)
      o.out(`     (${retries} receiver(s) got nothing within ${FIRST_FRAME_TIMEOUT_MS / 1000} s and were replaced)`);
    if (silent > 0)
      o.out(
        `     WARNING: ${silent} of ${n} receivers got no frame within ${FIRST_FRAME_TIMEOUT_MS / 1000} s${peer.retry ? ` in ${ATTEMPTS} attempts` : ''}`,
      );
    await sleep(o.settleMs);
    const s0 = await Promise.all(receivers.map((r) => r.stats()));
    const s = await sample(peer.pids(), o.windowMs);
    const s1 = await Promise.all(receivers.map((r) => r.stats()));
    const secs = o.windowMs / 1000;
    const fps = s1.map((x, i) => (x.frames - s0[i]!.frames) / secs);
    const got = s1.reduce((sum, x, i) => sum + x.packets - s0[i]!.packets, 0);
    const lost = s1.reduce((sum, x, i) => sum + Math.max(0, x.lost - s0[i]!.lost), 0);
    const row: Row = {
      ...s,
      fpsPerViewer: median(fps),
      fpsMin: Math.min(...fps),
      lossPct: got + lost > 0 ? (lost / (got + lost)) * 100 : 0,
    };
    o.out(
      `  ${String(n).padStart(2)} viewer(s): ${peer.name} ${round(s.cpuPct)} % of one core` +
        // Node's event loop is its main thread; Janus and KMS work in many threads, so their split says nothing.
        (peer.name === 'engine' ? ` (event loop ${round(s.mainThreadPct)})` : '') +
        `, ${round(s.rssMb)} MiB RSS; received ${round(row.fpsPerViewer)} fps per viewer (median, slowest ${round(row.fpsMin)}), ` +
        `${round(row.lossPct, 2)} % packets lost; SRTP ${[...new Set(s1.map((x) => x.srtpProfile || '?'))].join(', ')}`,
    );
    if (row.fpsPerViewer < 0.8 * o.cameraFps) {
      o.out(
        `     WARNING: viewers received ${round(row.fpsPerViewer)} of ${o.cameraFps} fps: this host (${cpus().length} cores, ` +
          `load ${loadavg()[0]!.toFixed(1)}) did not carry ${n} streams at full rate; this row measures ${peer.name} below full rate`,
      );
    }
    return row;
  } finally {
    for (const r of receivers) await r.close();
  }
}

/** Each field's median over rows measured the same way. */
export const medianRow = (rows: readonly Row[]): Row => ({
  cpuPct: median(rows.map((r) => r.cpuPct)),
  mainThreadPct: median(rows.map((r) => r.mainThreadPct)),
  rssMb: median(rows.map((r) => r.rssMb)),
  fpsPerViewer: median(rows.map((r) => r.fpsPerViewer)),
  fpsMin: Math.min(...rows.map((r) => r.fpsMin)),
  lossPct: median(rows.map((r) => r.lossPct)),
});
