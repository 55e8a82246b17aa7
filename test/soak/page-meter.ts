/**
 * Measures, inside the viewer page, every frame each camera's <video> presents
 * (requestVideoFrameCallback, WICG video-rvfc) with the epoch time it came, and
 * keeps the gaps longer than FREEZE_MS; the frames each player's
 * RTCPeerConnection decoded (W3C webrtc-stats inbound-rtp framesDecoded) are
 * summed over the players a camera had (a reconnect starts a new one).
 */
import type { Page } from 'playwright-core';

/** A pause between two presented frames longer than this counts as a freeze (25 fps: 40 ms per frame). */
export const FREEZE_MS = 250;

export interface CameraMeter {
  key: string;
  /** Frames presented in the <video>. */
  presented: number;
  /** framesDecoded summed over the camera's RTCPeerConnections. */
  decoded: number;
  firstAt: number;
  lastAt: number;
  /** [start, end] epoch ms of every pause longer than FREEZE_MS. */
  gaps: [number, number][];
  /** Players opened for this camera (1 + reconnects). */
  players: number;
}

type W = {
  __soak?: { cams: Record<string, CameraMeter & { video?: unknown; byId: Record<string, number> }> };
  camgateViewer: {
    players(): { id: string; key: string }[];
    stats(id: string): Promise<{ framesDecoded: number } | undefined>;
  };
};

/**
 * The in-page meter, as source text: tsx (esbuild with keepNames) would wrap a
 * function passed to page.evaluate in `__name(...)` calls that do not exist in
 * the page.
 */
const METER_SOURCE = `(() => {
  if (window.__soak) return;
  const soak = { cams: {} };
  window.__soak = soak;
  function cam(key) {
    if (!soak.cams[key]) {
      soak.cams[key] = { key, presented: 0, decoded: 0, firstAt: 0, lastAt: 0, gaps: [], players: 0, byId: {} };
    }
    return soak.cams[key];
  }
  function attach(key, video) {
    const m = cam(key);
    if (m.video === video) return;
    m.video = video;
    function onFrame() {
      const t = Date.now();
      if (m.lastAt && t - m.lastAt > ${FREEZE_MS}) m.gaps.push([m.lastAt, t]);
      if (!m.firstAt) m.firstAt = t;
      m.lastAt = t;
      m.presented++;
      video.requestVideoFrameCallback(onFrame);
    }
    video.requestVideoFrameCallback(onFrame);
  }
  setInterval(async () => {
    for (const tile of document.querySelectorAll('.tile')) {
      const v = tile.querySelector('video');
      if (tile.dataset.key && v) attach(tile.dataset.key, v);
    }
    for (const p of window.camgateViewer.players()) {
      const s = await window.camgateViewer.stats(p.id);
      const m = cam(p.key);
      if (!(p.id in m.byId)) m.players++;
      m.byId[p.id] = Math.max(m.byId[p.id] || 0, (s && s.framesDecoded) || 0);
      m.decoded = Object.values(m.byId).reduce((a, b) => a + b, 0);
    }
  }, 1000);
})()`;

/** Installs the meter in the page (idempotent) and starts polling each player's stats every second. */
export async function installMeter(page: Page): Promise<void> {
  await page.evaluate(METER_SOURCE);
}

/** What the meter saw so far, per camera key. */
export async function readMeter(page: Page): Promise<Record<string, CameraMeter>> {
  return page.evaluate(() => {
    const soak = (globalThis as unknown as W).__soak;
    const out: Record<string, CameraMeter> = {};
    for (const m of Object.values(soak?.cams ?? {})) {
      out[m.key] = {
        key: m.key,
        presented: m.presented,
        decoded: m.decoded,
        firstAt: m.firstAt,
        lastAt: m.lastAt,
        gaps: m.gaps,
        players: m.players,
      };
    }
    return out;
  });
}

/** Longest pause in [from, to] (a gap still open at `to` counts up to `to`). */
export function longestFreeze(m: CameraMeter, from: number, to: number): number {
  let worst = 0;
  for (const [a, b] of m.gaps) if (b > from && a < to) worst = Math.max(worst, Math.min(b, to) - Math.max(a, from));
  if (m.lastAt && m.lastAt < to) worst = Math.max(worst, to - Math.max(m.lastAt, from));
  return worst;
}

/**
 * Time from a fault's end to video again: the end of the last freeze that
 * overlaps the fault (or starts within `settleMs` after it) minus the fault's
 * end; 0 when the picture never paused; undefined when no frame came since.
 */
export function recoveryMs(
  m: CameraMeter,
  fault: { start: number; end: number },
  settleMs = 5_000,
): number | undefined {
  if (m.lastAt < fault.end) return undefined;
  let back = fault.end;
  for (const [a, b] of m.gaps) if (b > fault.start && a < fault.end + settleMs) back = Math.max(back, b);
  return back - fault.end;
}
