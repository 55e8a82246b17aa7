/**
 * A camera played through a Kurento server (KMS behind camgate's hub) into a
 * Chromium tab, and bounded readers of what the tab decodes.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import kurentoClient from 'kurento-client';
import type { Browser, Page } from 'playwright-core';
import type { ConfigurableViewerStats } from '@camgate/test-helpers';
import type { Kc } from './kurento-wire.js';

/** A camera playing into a Chromium tab, with the Kurento objects behind it. */
export interface KmsViewer {
  page: Page;
  pipeline: Kc;
  player: Kc;
  webrtc: Kc;
  /** Milliseconds from the call to the end of each setup step (for the report; never asserted). */
  steps: Record<string, number>;
  stats(): Promise<ConfigurableViewerStats>;
  /** Releases the pipeline, then closes the tab. Idempotent. */
  close(): Promise<void>;
}

interface PageApi {
  start(config: { iceServers: [] }): Promise<string>;
  answer(sdp: string): Promise<void>;
  addCandidate(c: unknown): Promise<void>;
  stats(): Promise<ConfigurableViewerStats>;
  close(): void;
}
type W = { viewer: PageApi };

/**
 * Plays `uri` (`camera://ID` through the hub) with kurento-client: pipeline →
 * PlayerEndpoint → WebRtcEndpoint → a tab of CONFIGURABLE_VIEWER_HTML at
 * `pageUrl`, with no STUN/TURN server on either side and only loopback
 * candidates exchanged both ways. Like engine-viewer's playThroughKurento, but
 * keeps the objects so a test can call them after a tunnel cut.
 */
export async function playCamera(browser: Browser, pageUrl: string, client: Kc, uri: string): Promise<KmsViewer> {
  const t0 = performance.now();
  const steps: Record<string, number> = {};
  const step = (name: string): void => {
    steps[name] = Math.round(performance.now() - t0);
  };
  const page = await browser.newPage();
  const loopback = (c: string): boolean => /^(127\.\d+\.\d+\.\d+|::1)$/.test(c.split(' ')[4] ?? '');
  let webrtc: Kc;
  const early: unknown[] = [];
  await page.exposeFunction('sendCandidate', (c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }) => {
    if (!loopback(c.candidate)) return;
    const ice = kurentoClient.getComplexType('IceCandidate')(c);
    if (webrtc) webrtc.addIceCandidate(ice).catch(() => undefined);
    else early.push(ice);
  });
  await page.goto(pageUrl);
  const offer = await page.evaluate((cfg) => (globalThis as unknown as W).viewer.start(cfg), { iceServers: [] as [] });
  step('offer');
  const pipeline: Kc = await client.create('MediaPipeline');
  step('pipeline');
  let player: Kc;
  try {
    player = await pipeline.create('PlayerEndpoint', { uri });
    step('player');
    webrtc = await pipeline.create('WebRtcEndpoint');
    step('webrtc');
    webrtc.on('IceCandidateFound', (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } }) => {
      const c = {
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      };
      if (!loopback(c.candidate)) return;
      page.evaluate((x) => (globalThis as unknown as W).viewer.addCandidate(x), c).catch(() => undefined);
    });
    for (const c of early.splice(0)) webrtc.addIceCandidate(c).catch(() => undefined);
    await player.connect(webrtc);
    step('connect');
    const answer: string = await webrtc.processOffer(offer);
    step('processOffer');
    await page.evaluate((sdp) => (globalThis as unknown as W).viewer.answer(sdp), answer);
    await webrtc.gatherCandidates();
    step('gatherCandidates');
    await player.play();
    step('play');
  } catch (err) {
    await pipeline.release().catch(() => undefined);
    await page.close().catch(() => undefined);
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    page,
    pipeline,
    player,
    webrtc,
    steps,
    stats: () => page.evaluate(() => (globalThis as unknown as W).viewer.stats()),
    close: () =>
      (closed ??= (async () => {
        await page.evaluate(() => (globalThis as unknown as W).viewer.close()).catch(() => undefined);
        await pipeline.release().catch(() => undefined);
        await page.close().catch(() => undefined);
      })()),
  };
}

/** Polls the page's getStats (a snapshot; no event to wait on) until `pred` holds or `ms` pass. */
export async function until(
  viewer: KmsViewer,
  what: string,
  pred: (s: ConfigurableViewerStats) => boolean,
  ms = 30_000,
): Promise<ConfigurableViewerStats> {
  const deadline = Date.now() + ms;
  let s = await viewer.stats();
  while (!pred(s)) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms; last stats ${JSON.stringify(s)}`);
    await sleep(200);
    s = await viewer.stats();
  }
  return s;
}

/**
 * Samples framesDecoded at the start and end of `windows` windows of `windowMs` each; every window must
 * decode frames (a count, not a rate: a starved machine may decode slowly, but a stalled stream fails).
 */
export async function keepsDecoding(viewer: KmsViewer, windows: number, windowMs: number): Promise<number[]> {
  const samples = [(await viewer.stats()).framesDecoded];
  for (let i = 0; i < windows; i++) {
    await sleep(windowMs);
    samples.push((await viewer.stats()).framesDecoded);
    assert.ok(
      samples[i + 1]! > samples[i]!,
      `framesDecoded grows in every ${windowMs} ms window: ${samples.join(' ')}`,
    );
  }
  return samples;
}

export const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

/** Addresses and types of the ICE pair Chromium selected (W3C webrtc-stats §8.6 RTCIceCandidatePairStats). */
export async function selectedPair(viewer: KmsViewer): Promise<{ local: string; remote: string; types: string }> {
  return viewer.page.evaluate(async () => {
    type Stat = Record<string, string | undefined>;
    // CONFIGURABLE_VIEWER_HTML keeps its RTCPeerConnection in a top-level `let pc` (global lexical scope).
    const pc = (0, eval)('pc') as { getStats(): Promise<Map<string, Stat>> };
    const r = await pc.getStats();
    let pairId: string | undefined;
    r.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? r.get(pairId) : undefined;
    const l = pair?.localCandidateId ? r.get(pair.localCandidateId) : undefined;
    const rm = pair?.remoteCandidateId ? r.get(pair.remoteCandidateId) : undefined;
    return {
      local: l?.address ?? '',
      remote: rm?.address ?? '',
      types: `${l?.candidateType ?? ''}/${rm?.candidateType ?? ''}`,
    };
  });
}
