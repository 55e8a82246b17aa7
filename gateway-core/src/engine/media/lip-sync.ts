import { performance } from 'node:perf_hooks';

/**
 * Lip sync, both ends. A browser plays audio and video in step by mapping
 * each track's RTP timestamps to one NTP clock through the sender reports
 * (RFC 3550 §6.4.1, §7.1 "the NTP timestamps … of both streams are from the
 * same clock"). The camera's own reports give that mapping for its two
 * tracks (`CameraClock`); every viewer's writers rebase RTP timestamps, so
 * each writer keeps an anchor (its RTP time ↔ the camera's NTP time of the
 * same frame) and reports from it (`SyncAnchor`), with one offset per
 * viewer so both tracks stay on one clock.
 */

/** Milliseconds between 1900-01-01 (NTP era 0) and 1970-01-01 (RFC 5905 §6). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** The camera's latest sender report of one track. */
interface TrackReport {
  ntpMs: number;
  rtpTimestamp: number;
  clockRate: number;
}

/** Camera SRs are taken at most this far back; an older one may predate a camera clock step. */
const MAX_REPORT_AGE_MS = 120_000;

/** Maps a camera track's RTP timestamps to the camera's NTP time (ms since 1970) from its sender reports. */
export class CameraClock {
  readonly #tracks = new Map<'video' | 'audio', TrackReport & { at: number }>();

  /** The RTSP client's `senderReport` event. Reports with nonsense values are ignored (network input). */
  report(track: 'video' | 'audio', ntpMs: number, rtpTimestamp: number, clockRate: number): void {
    if (!Number.isFinite(ntpMs) || ntpMs <= 0 || !Number.isInteger(rtpTimestamp) || !(clockRate > 0)) return;
    this.#tracks.set(track, { ntpMs, rtpTimestamp: rtpTimestamp >>> 0, clockRate, at: performance.now() });
  }

  /** Forgets the reports (camera reconnect: a new session may start new timelines). */
  reset(): void {
    this.#tracks.clear();
  }

  /**
   * The camera's capture time of the sample stamped `timestamp` on `track`, or undefined until
   * both tracks have a report (one track alone cannot be lined up with the other).
   */
  ntpOf(track: 'video' | 'audio', timestamp: number): number | undefined {
    const r = this.#tracks.get(track);
    const other = this.#tracks.get(track === 'video' ? 'audio' : 'video');
    if (!r || !other) return undefined;
    if (performance.now() - r.at > MAX_REPORT_AGE_MS) return undefined;
    const delta = ((timestamp >>> 0) - r.rtpTimestamp) | 0; // signed 32-bit distance (wraps)
    return r.ntpMs + (delta * 1000) / r.clockRate;
  }
}

/** One viewer's shared offset from the camera's NTP clock to ours: the same for its audio and its video. */
export class ViewerClock {
  #offsetMs: number | undefined;

  /** Our wall-clock time (ms since 1970) for a camera NTP time, fixed on first use. */
  local(cameraNtpMs: number): number {
    this.#offsetMs ??= Date.now() - cameraNtpMs;
    return cameraNtpMs + this.#offsetMs;
  }
}

/** A 64-bit NTP timestamp (RFC 3550 §4) for a time in ms since 1970. */
export function ntpFromUnixMs(ms: number): bigint {
  const seconds = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds + NTP_UNIX_OFFSET_S) << 32n) | BigInt(frac >>> 0);
}

/**
 * A writer's anchor: the RTP time it gave a frame and that frame's time on the viewer's clock.
 * Frames without a camera NTP time are anchored at their arrival (what an engine without reports
 * does). Sender reports are extrapolated from the last anchor.
 */
export class SyncAnchor {
  readonly #clock: ViewerClock;
  #rtp = 0;
  #wallMs = 0;
  #at = 0;
  #clockRate = 90_000;
  #set = false;

  constructor(clock: ViewerClock) {
    this.#clock = clock;
  }

  /** Call with each live frame written: its RTP timestamp on this viewer's timeline and its camera NTP time. */
  set(rtpTimestamp: number, clockRate: number, cameraNtpMs: number | undefined): void {
    this.#at = performance.now();
    this.#rtp = rtpTimestamp >>> 0;
    this.#clockRate = clockRate;
    this.#wallMs = cameraNtpMs === undefined ? Date.now() : this.#clock.local(cameraNtpMs);
    this.#set = true;
  }

  /** The pair for a sender report sent now (RFC 3550 §6.4.1), or undefined before the first frame. */
  report(): { ntp: bigint; rtpTimestamp: number } | undefined {
    if (!this.#set) return undefined;
    const elapsed = performance.now() - this.#at;
    return {
      ntp: ntpFromUnixMs(this.#wallMs + elapsed),
      rtpTimestamp: (this.#rtp + Math.round((elapsed * this.#clockRate) / 1000)) >>> 0,
    };
  }
}
