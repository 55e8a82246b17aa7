/**
 * Browser helpers for end-to-end tests of the hub's viewer web app: Chromium
 * (Debian) through playwright-core, signing in through the real page, and
 * reading each player's RTCPeerConnection stats through `window.camgateViewer`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from './bounded.js';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';

/** Chromium with the flags the viewer tests need (loopback WebRTC; see browser.ts). */
export function launchViewerBrowser(): Promise<Browser> {
  return launchChromium(['--use-fake-ui-for-media-stream']);
}

/** What the page reports for one player. */
export interface PlayerInfo {
  id: string;
  key: string;
  state: string;
  text: string;
  error: string;
}

export interface PlayerStats {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  connectionState: string;
}

type W = {
  camgateViewer: {
    players(): PlayerInfo[];
    stats(id: string): Promise<PlayerStats | undefined>;
    pictureHash(id: string): string;
  };
};

/** Opens a fresh browser context (its own cookies), signs in through the form and waits for the camera list. */
export async function signIn(browser: Browser, hubUrl: string, name: string, password: string): Promise<Page> {
  const context = await browser.newContext();
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

/** Submits the sign-in form and returns the message it shows (for refused sign-ins). */
export async function failedSignIn(page: Page, hubUrl: string, name: string, password: string): Promise<string> {
  if (!page.url().endsWith('/login')) await page.goto(`${hubUrl}/login`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.$eval('#message', (el) => {
    el.textContent = '';
  });
  await page.click('#submit');
  const el = await page.waitForSelector('#message:not(:empty)');
  return (await el.textContent()) ?? '';
}

/** Camera keys (`GATEWAY/CAMERA`) listed on the page. */
export function listedCameras(page: Page): Promise<string[]> {
  return page.$$eval('#cameras li', (lis) => lis.map((li) => li.getAttribute('data-key') ?? ''));
}

/** Clicks Watch on a camera and returns the new player's id. */
export async function watch(page: Page, key: string): Promise<string> {
  const before = new Set((await players(page)).map((p) => p.id));
  await page.click(`#cameras li[data-key="${key}"] button`);
  for (;;) {
    const p = (await players(page)).find((x) => !before.has(x.id));
    if (p) return p.id;
    await sleep(20);
  }
}

export function players(page: Page): Promise<PlayerInfo[]> {
  return page.evaluate(() => (globalThis as unknown as W).camgateViewer.players());
}

export async function player(page: Page, id: string): Promise<PlayerInfo> {
  const p = (await players(page)).find((x) => x.id === id);
  if (!p) throw new Error(`no player ${id} on the page`);
  return p;
}

export async function stats(page: Page, id: string): Promise<PlayerStats> {
  const s = await page.evaluate((x) => (globalThis as unknown as W).camgateViewer.stats(x), id);
  if (!s) throw new Error(`no player ${id} on the page`);
  return s;
}

export function pictureHash(page: Page, id: string): Promise<string> {
  return page.evaluate((x) => (globalThis as unknown as W).camgateViewer.pictureHash(x), id);
}

/**
 * Polls `read` until `pred` holds (page state has no event to wait on from here); rejects after `ms` (default
 * 120 s: Chromium on a loaded 2-core machine is slow, never this slow) so a broken page fails instead of hanging.
 */
export function untilOnPage<T>(
  read: () => Promise<T>,
  pred: (v: T) => boolean,
  ms = 120_000,
  what = 'the viewer page',
): Promise<T> {
  return until(read, pred, ms, what);
}
