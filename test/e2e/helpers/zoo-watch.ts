/**
 * Measures, inside the hub's viewer page, what a person sees on a camera
 * tile: every frame the <video> presents is timed with
 * `requestVideoFrameCallback` (WICG video-rvfc), so first-frame time and
 * freezes are measured where the picture is shown, not where packets arrive.
 * Frames decoded come from the player's RTCPeerConnection stats
 * (W3C webrtc-stats §3.3 inbound-rtp `framesDecoded`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { player, stats, watch, type PlayerInfo } from '@camgate/test-helpers';

type ZooRecord = { clickedAt: number; frames: number[]; size: string };
type W = { zoo?: Record<string, ZooRecord> };

/** Runs in the page: times every frame the tile's <video> presents (its rVFC callback re-arms itself). */
const RECORD_FRAMES = `function (id, clickedAt) {
  const video = document.querySelector('.tile[data-id="' + id + '"] video');
  // The player's peer connection is the one its click just made (see KEEP_PEER_CONNECTIONS).
  const pcs = window.zooPeerConnections || [];
  const rec = { clickedAt, frames: [], size: '', pc: pcs[pcs.length - 1] };
  (window.zoo = window.zoo || {})[id] = rec;
  function onFrame(now, meta) {
    rec.frames.push(now);
    rec.size = meta.width + 'x' + meta.height;
    video.requestVideoFrameCallback(onFrame);
  }
  video.requestVideoFrameCallback(onFrame);
}`;

/**
 * Runs in the page before its scripts: keeps every RTCPeerConnection the viewer makes, so the zoo can read
 * receive counters (loss, NACK, PLI) that the page's own stats() does not report.
 */
const KEEP_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  const kept = (window.zooPeerConnections = []);
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    kept.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();`;

/** signIn() of @camgate/test-helpers, with the page's peer connections kept for receiveCounters(). */
export async function signInMeasured(browser: Browser, hubUrl: string, name: string, password: string): Promise<Page> {
  const context = await browser.newContext();
  await context.addInitScript(KEEP_PEER_CONNECTIONS);
  const page = await context.newPage();
  await page.goto(`${hubUrl}/`);
  await page.waitForURL(/\/login$/);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(`${hubUrl}/`);
  await page.waitForSelector('#cameras li');
  return page;
}

/** W3C webrtc-stats §3.3 inbound-rtp counters of the player's video, since it started. */
export interface ReceiveCounters {
  packetsLost: number;
  nackCount: number;
  pliCount: number;
  keyFramesDecoded: number;
  /** Freezes as the browser counts them (webrtc-stats §3.3 `freezeCount`). */
  freezeCount: number;
  /** Frames received but never shown: dropped before decoding or too late to render. */
  framesDropped: number;
}

export async function receiveCounters(page: Page, id: string): Promise<ReceiveCounters | undefined> {
  return page.evaluate(`(async (id) => {
    const rec = (window.zoo || {})[id];
    if (!rec || !rec.pc) return undefined;
    const out = { packetsLost: 0, nackCount: 0, pliCount: 0, keyFramesDecoded: 0, freezeCount: 0, framesDropped: 0 };
    (await rec.pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      for (const k of Object.keys(out)) out[k] = s[k] || 0;
    });
    return out;
  })(${JSON.stringify(id)})`);
}

/** Clicks Watch and starts timing the new tile's frames from the click. Returns the player id. */
export async function watchMeasured(page: Page, key: string): Promise<string> {
  const clickedAt = await page.evaluate(() => performance.now());
  const id = await watch(page, key);
  // A string, not a function: tsx would wrap the named callback in a `__name` helper the page does not have.
  await page.evaluate(`(${RECORD_FRAMES})(${JSON.stringify(id)}, ${clickedAt})`);
  return id;
}

/** The page's clock (performance.now()), the one frame times are taken on. */
export function pageNow(page: Page): Promise<number> {
  return page.evaluate(() => performance.now());
}

export interface FrameReport {
  /** Click → first presented frame, ms; undefined before it. */
  firstFrameMs: number | undefined;
  /** Frames presented in [from, to]. */
  presented: number;
  /** Longest time without a new frame in [from, to], counting both window edges, ms. */
  longestFreezeMs: number;
  /** Size of the last presented frame, `WxH`. */
  size: string;
}

/** What the tile presented between two page times. */
export function frameReport(page: Page, id: string, from: number, to: number): Promise<FrameReport> {
  return page.evaluate(
    ({ id, from, to }) => {
      const rec = (globalThis as unknown as W).zoo?.[id];
      if (!rec) throw new Error(`no measurement for ${id}`);
      const inWindow = rec.frames.filter((t) => t >= from && t <= to);
      let longest = 0;
      let prev = from;
      for (const t of [...inWindow, to]) {
        longest = Math.max(longest, t - prev);
        prev = t;
      }
      return {
        firstFrameMs: rec.frames.length ? rec.frames[0]! - rec.clickedAt : undefined,
        presented: inWindow.length,
        longestFreezeMs: longest,
        size: rec.size,
      };
    },
    { id, from, to },
  );
}

/** Polls until the tile has presented a frame or shows a failure; bounded by `timeoutMs`. */
export async function waitFirstFrame(
  page: Page,
  id: string,
  timeoutMs: number,
): Promise<{ firstFrameMs: number | undefined; player: PlayerInfo }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = await pageNow(page);
    const r = await frameReport(page, id, now, now);
    const p = await player(page, id);
    if (r.firstFrameMs !== undefined || p.state === 'failed' || performance.now() > deadline) {
      return { firstFrameMs: r.firstFrameMs, player: p };
    }
    await sleep(100);
  }
}

/** Polls `read` until `pred` holds or `timeoutMs` passes; returns the last value and whether it held. */
export async function within<T>(
  timeoutMs: number,
  read: () => Promise<T>,
  pred: (v: T) => boolean,
): Promise<{ value: T; ok: boolean; ms: number }> {
  const start = performance.now();
  for (;;) {
    const value = await read();
    const ms = performance.now() - start;
    if (pred(value)) return { value, ok: true, ms };
    if (ms > timeoutMs) return { value, ok: false, ms };
    await sleep(100);
  }
}

/** Frames decoded by the player's RTCPeerConnection so far (0 when its stats are gone). */
export async function framesDecoded(page: Page, id: string): Promise<number> {
  try {
    return (await stats(page, id)).framesDecoded;
  } catch {
    return 0;
  }
}

/** What the tile says: its state line, and the error line when there is one. */
export function tileText(p: PlayerInfo): string {
  return p.error ? `${p.text}: ${p.error}` : p.text;
}
