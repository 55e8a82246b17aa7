/**
 * The result of `bench:media`: the JSON keys (names kept across runs, so
 * figures compare) and the one-line summary, from what media.ts measured.
 * Per-viewer figures are the change from the 1- to the 16-viewer row over the
 * 15 viewers added (both medians of their rounds); a server that could not run
 * here has null figures and a reason.
 */
import { loadavg } from 'node:os';
import type { AacRow } from './media-audio.js';
import type { Row } from './media-rows.js';
import { median, round, type Sample } from './proc-sample.js';

/** First-frame times of the tries that saw a frame, and how many did not. */
export interface FirstFrames {
  ms: number[];
  missed: number;
}

/** A peer server (Janus, KMS): its idle sample and first frames when it ran, else why not. */
export interface PeerRun {
  idle?: Sample;
  first?: FirstFrames;
  why: string;
}

export interface Measured {
  warm: FirstFrames;
  cold: FirstFrames;
  /** The engine with nothing to do, and keeping the camera warm with no viewer. */
  idle: Sample;
  pulling: Sample;
  /** Per server name ('engine', 'Janus', 'KMS'), per viewer count: the median row. */
  rows: Record<string, Record<number, Row>>;
  /** Per server name: the one-viewer CPU figure of every round. */
  windows: Record<string, number[]>;
  janus: PeerRun;
  kms: PeerRun;
  aac?: AacRow;
}

export const p50 = (xs: number[]): number | null => (xs.length ? round(median(xs), 0) : null);
const r2 = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : round(x, 2));
const fps = (row: Row | undefined): number | null => (row ? round(row.fpsPerViewer) : null);
const loss = (row: Row | undefined): number | null => (row ? round(row.lossPct, 2) : null);
const perViewerRss = (rows: Record<number, Row> | undefined): number | null =>
  rows?.[1] && rows[16] ? round((rows[16].rssMb - rows[1].rssMb) / 15, 2) : null;
const perViewerCpu = (rows: Record<number, Row> | undefined): number | null =>
  rows?.[1] && rows[16] ? round((rows[16].cpuPct - rows[1].cpuPct) / 15, 2) : null;
const ratio = (a: Row | undefined, b: Row | undefined): number | null =>
  a && b && b.cpuPct > 0 ? round(a.cpuPct / b.cpuPct, 2) : null;

/** The JSON result of the run. */
export function resultOf(m: Measured) {
  const e = m.rows.engine ?? {};
  const j = m.rows.Janus;
  const k = m.rows.KMS;
  return {
    first_frame_p50_ms: p50(m.warm.ms),
    first_frame_p50_ms_cold: p50(m.cold.ms),
    cpu_pct_per_stream: r2(e[1]?.cpuPct),
    cpu_pct_per_stream_windows: m.windows.engine ?? [],
    cpu_pct_per_stream_event_loop: r2(e[1]?.mainThreadPct),
    rss_mb_per_stream: e[1] ? round(e[1].rssMb - m.idle.rssMb, 1) : null,
    rss_mb_engine_1_viewer: e[1] ? round(e[1].rssMb, 1) : null,
    rss_mb_engine_idle: round(m.idle.rssMb, 1),
    cpu_pct_kept_warm_no_viewer: round(m.pulling.cpuPct, 2),
    cpu_pct_4_viewers: r2(e[4]?.cpuPct),
    cpu_pct_16_viewers: r2(e[16]?.cpuPct),
    rss_mb_16_viewers: e[16] ? round(e[16].rssMb, 1) : null,
    rss_mb_per_viewer: perViewerRss(e),
    cpu_pct_per_added_viewer: perViewerCpu(e),
    fps_per_viewer_1: fps(e[1]),
    fps_per_viewer_4: fps(e[4]),
    fps_per_viewer_16: fps(e[16]),
    loss_pct_16_viewers: loss(e[16]),
    janus_cpu_pct_per_stream: r2(j?.[1]?.cpuPct),
    janus_cpu_pct_per_stream_windows: m.windows.Janus ?? [],
    janus_rss_mb_per_stream: j?.[1] && m.janus.idle ? round(j[1].rssMb - m.janus.idle.rssMb, 1) : null,
    janus_rss_mb_1_viewer: j?.[1] ? round(j[1].rssMb, 1) : null,
    janus_cpu_pct_idle_pulling: m.janus.idle ? round(m.janus.idle.cpuPct, 2) : null,
    janus_cpu_pct_4_viewers: r2(j?.[4]?.cpuPct),
    janus_cpu_pct_16_viewers: r2(j?.[16]?.cpuPct),
    janus_rss_mb_16_viewers: j?.[16] ? round(j[16].rssMb, 1) : null,
    janus_first_frame_p50_ms: m.janus.first ? p50(m.janus.first.ms) : null,
    janus_fps_per_viewer_1: fps(j?.[1]),
    janus_fps_per_viewer_4: fps(j?.[4]),
    janus_fps_per_viewer_16: fps(j?.[16]),
    janus_loss_pct_16_viewers: loss(j?.[16]),
    janus_rss_mb_per_viewer: perViewerRss(j),
    janus_cpu_pct_per_added_viewer: perViewerCpu(j),
    cpu_ratio_vs_janus: ratio(e[1], j?.[1]),
    cpu_ratio_vs_janus_16_viewers: ratio(e[16], j?.[16]),
    kms_cpu_pct_per_stream: r2(k?.[1]?.cpuPct),
    kms_cpu_pct_per_stream_windows: m.windows.KMS ?? [],
    kms_rss_mb_idle: m.kms.idle ? round(m.kms.idle.rssMb, 1) : null,
    kms_rss_mb_1_viewer: k?.[1] ? round(k[1].rssMb, 1) : null,
    kms_cpu_pct_4_viewers: r2(k?.[4]?.cpuPct),
    kms_cpu_pct_16_viewers: r2(k?.[16]?.cpuPct),
    kms_rss_mb_16_viewers: k?.[16] ? round(k[16].rssMb, 1) : null,
    kms_first_frame_p50_ms: m.kms.first ? p50(m.kms.first.ms) : null,
    kms_fps_per_viewer_1: fps(k?.[1]),
    kms_fps_per_viewer_4: fps(k?.[4]),
    kms_fps_per_viewer_16: fps(k?.[16]),
    kms_loss_pct_16_viewers: loss(k?.[16]),
    kms_rss_mb_per_viewer: perViewerRss(k),
    kms_cpu_pct_per_added_viewer: perViewerCpu(k),
    cpu_ratio_vs_kms: ratio(e[1], k?.[1]),
    cpu_ratio_vs_kms_16_viewers: ratio(e[16], k?.[16]),
    aac_cpu_pct_per_stream: m.aac?.aac_cpu_pct_per_stream ?? null,
    aac_ffmpeg_cpu_pct: m.aac?.aac_ffmpeg_cpu_pct ?? null,
    av_offset_ms: m.aac?.av_offset_ms ?? null,
    av_offset_ms_marks: m.aac?.av_offset_ms_marks ?? [],
    receivers: 'werift, no decoding (engine, Janus, KMS alike)',
    load_average_1m: round(loadavg()[0]!, 2),
    janus_unavailable_reason: m.janus.idle ? null : m.janus.why.split('\n')[0],
    kms_unavailable_reason: m.kms.idle ? null : m.kms.why,
  };
}

/** The one-line summary of a result: CPU and the frame rate 16 viewers received, per server. */
export function summaryLine(r: ReturnType<typeof resultOf>): string {
  return (
    `summary: first frame p50 ${r.first_frame_p50_ms} ms kept warm (default) / ${r.first_frame_p50_ms_cold} ms cold; ` +
    `engine ${r.cpu_pct_per_stream} % CPU and +${r.rss_mb_per_stream} MiB RSS per 720p25 stream, ` +
    `${r.cpu_pct_16_viewers} % with 16 viewers at ${r.fps_per_viewer_16} fps each, +${r.rss_mb_per_viewer} MiB RSS per added viewer; ` +
    (r.janus_cpu_pct_per_stream !== null
      ? `Janus ${r.janus_cpu_pct_per_stream} % per stream, ${r.janus_cpu_pct_16_viewers} % with 16 viewers at ` +
        `${r.janus_fps_per_viewer_16} fps each, +${r.janus_rss_mb_per_viewer} MiB RSS per added viewer, ` +
        `cpu_ratio_vs_janus ${r.cpu_ratio_vs_janus} (16 viewers ${r.cpu_ratio_vs_janus_16_viewers}); `
      : 'Janus: n/a; ') +
    (r.kms_cpu_pct_per_stream !== null
      ? `KMS ${r.kms_cpu_pct_per_stream} % per stream, ${r.kms_cpu_pct_16_viewers} % with 16 viewers at ` +
        `${r.kms_fps_per_viewer_16} fps each, +${r.kms_rss_mb_per_viewer} MiB RSS per added viewer, ` +
        `cpu_ratio_vs_kms ${r.cpu_ratio_vs_kms} (16 viewers ${r.cpu_ratio_vs_kms_16_viewers})`
      : 'KMS: n/a')
  );
}
