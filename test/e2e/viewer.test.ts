/**
 * The hub's viewer web app end to end, in Chromium: a simulated RTSP camera
 * (Digest auth) on the "LAN", the built-in engine with its real media plane,
 * a gateway dialling the hub, and a person signing in on the hub's page.
 * Issue 3, "The viewer web app (hub)" and "Tests".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { addUser } from '@camgate/core';
import { startCameraSim, type CameraSim } from '@camgate/camera-sim';
import {
  startStack,
  GATEWAY_ID,
  type Stack,
  failedSignIn,
  launchViewerBrowser,
  listedCameras,
  pictureHash,
  player,
  signIn,
  stats,
  untilOnPage as until,
  watch,
} from '@camgate/test-helpers';

const CAM_USER = 'admin';
const CAM_PASSWORD = 'e2e-Cam-pw-7Hq2';
const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };

/** Only loopback candidates reach the engine: tests send traffic to 127.0.0.0/8 alone. */
const loopbackOnly = (c: string): boolean => c.split(' ')[4] === '127.0.0.1';

describe('viewer web app in Chromium', () => {
  let cam: CameraSim;
  let stack: Stack;
  let browser: Browser;
  let dir: string;
  let hubUrl: string;
  let bobPassword: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'camgate-viewer-e2e-'));
    const usersFile = join(dir, 'users.json');
    await addUser(usersFile, { ...ALICE, cameras: [`${GATEWAY_ID}/porch`, `${GATEWAY_ID}/garage`] });
    const bob = await addUser(usersFile, { name: 'bob', cameras: [`${GATEWAY_ID}/*`] });
    bobPassword = bob.generatedPassword!;
    await addUser(usersFile, { name: 'carol', password: 'carol-Pass-3Xw8', cameras: [] });
    cam = await startCameraSim({
      username: CAM_USER,
      password: CAM_PASSWORD,
      width: 320,
      height: 240,
      fps: 25,
      gopSeconds: 2,
    });
    const base = { url: cam.url, username: CAM_USER };
    stack = await startStack({
      cameras: [
        { id: 'porch', name: 'Porch', ...base, password: CAM_PASSWORD },
        { id: 'garage', name: 'Garage', ...base, password: 'not-the-camera-password' },
        { id: 'attic', name: 'Attic', ...base, password: CAM_PASSWORD },
      ],
      engine: { interfaceAddress: '127.0.0.1' },
      hub: {
        viewer: {
          usersFile,
          acceptBrowserCandidate: loopbackOnly,
          // Per-user limit small so the test reaches it; per-address high so the other tests can sign in.
          login: { freeFailuresPerUser: 3, freeFailuresPerAddress: 1000, baseDelayMs: 60_000 },
        },
      },
    });
    hubUrl = stack.hub.url;
    browser = await launchViewerBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    await cam?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signs in, lists only granted cameras, plays live video, shares one RTSP pull, releases on close', async (t) => {
    const page = await signIn(browser, hubUrl, ALICE.name, ALICE.password);
    assert.deepEqual((await listedCameras(page)).sort(), [`${GATEWAY_ID}/garage`, `${GATEWAY_ID}/porch`]);
    assert.match((await page.textContent('#user')) ?? '', /Signed in as alice/);

    const clicked = performance.now();
    const id = await watch(page, `${GATEWAY_ID}/porch`);
    await until(
      () => stats(page, id),
      (s) => s.framesDecoded > 0,
    );
    // Reported, not asserted (no wall-clock assertions): click → first decoded frame on loopback.
    t.diagnostic(`first frame decoded ${Math.round(performance.now() - clicked)} ms after clicking Watch`);
    const s1 = await until(
      () => stats(page, id),
      (s) => s.framesDecoded >= 10,
    );
    const h1 = await pictureHash(page, id);
    const s2 = await until(
      () => stats(page, id),
      (s) => s.framesDecoded >= s1.framesDecoded + 25,
    );
    const h2 = await pictureHash(page, id);
    assert.ok(s2.framesDecoded > s1.framesDecoded, `framesDecoded grows (${s1.framesDecoded} -> ${s2.framesDecoded})`);
    assert.equal(s2.frameWidth, 320);
    assert.equal(s2.frameHeight, 240);
    assert.ok(h1.endsWith(':320x240'), `picture drawn (${h1})`);
    assert.notEqual(h1, h2, 'the picture changes: live, not frozen');
    await until(
      () => player(page, id),
      (p) => p.state === 'playing',
    );
    assert.equal((await player(page, id)).text, 'Live');
    await mkdir(join(process.cwd(), '..', 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), '..', 'test-artifacts', 'viewer.png') });

    // A second viewer (another person, another browser context) of the same camera: no new RTSP session.
    const sessionsBefore = cam.stats.sessions;
    const page2 = await signIn(browser, hubUrl, 'bob', bobPassword);
    assert.deepEqual((await listedCameras(page2)).sort(), [
      `${GATEWAY_ID}/attic`,
      `${GATEWAY_ID}/garage`,
      `${GATEWAY_ID}/porch`,
    ]);
    const id2 = await watch(page2, `${GATEWAY_ID}/porch`);
    await until(
      () => stats(page2, id2),
      (s) => s.framesDecoded >= 10,
    );
    assert.equal(cam.stats.sessions, sessionsBefore, 'the second viewer adds no RTSP session');
    assert.equal(stack.engine.stats().pipelines, 2);

    // Closing the pages releases both pipelines at the engine.
    await page.context().close();
    await page2.context().close();
    await until(
      async () => stack.engine.stats().pipelines,
      (n) => n === 0,
    );
    assert.equal(stack.engine.stats().pipelines, 0);
  });

  it('shows a wrong camera password in plain words', async () => {
    const page = await signIn(browser, hubUrl, ALICE.name, ALICE.password);
    const id = await watch(page, `${GATEWAY_ID}/garage`);
    const p = await until(
      () => player(page, id),
      (x) => x.state === 'failed',
    );
    assert.equal(
      p.error,
      'Camera unreachable: wrong password. The camera rejected the password configured on your gateway.',
    );
    assert.equal(await page.isVisible(`.tile[data-id="${id}"] .tile-error`), true);
    await page.screenshot({ path: join(process.cwd(), '..', 'test-artifacts', 'viewer-error.png') });
    await page.context().close();
    await until(
      async () => stack.engine.stats().pipelines,
      (n) => n === 0,
    );
  });

  it('refuses a camera that is not granted, whatever the page sends', async () => {
    const origin = hubUrl;
    const res = await fetch(`${hubUrl}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin },
      body: JSON.stringify(ALICE),
    });
    assert.equal(res.status, 200);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/viewer/ws`, {
      headers: { Origin: origin, Cookie: cookie },
    });
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const pipelines = stack.engine.stats().pipelines;
    ws.send(
      JSON.stringify({
        type: 'start',
        id: 'x1',
        gateway: GATEWAY_ID,
        camera: 'attic',
        offer: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n',
      }),
    );
    const err = await until(
      async () => messages.find((m) => m.type === 'error'),
      (m) => m !== undefined,
    );
    assert.deepEqual(err, {
      type: 'error',
      id: 'x1',
      code: 'CAMGATE_VIEWER_NOT_GRANTED',
      message: 'You do not have access to this camera.',
    });
    const list = messages.find((m) => m.type === 'cameras') as { cameras: { camera: string }[] };
    assert.deepEqual(list.cameras.map((c) => c.camera).sort(), ['garage', 'porch']);
    assert.equal(stack.engine.stats().pipelines, pipelines, 'nothing reached the media backend');

    // An offer that looks like SDP but is not usable: the media backend refuses it, this viewer hears
    // it in plain words, and what was built for it is released.
    ws.send(
      JSON.stringify({
        type: 'start',
        id: 'x2',
        gateway: GATEWAY_ID,
        camera: 'porch',
        offer: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=garbage\r\n',
      }),
    );
    const bad = await until(
      async () => messages.find((m) => m.type === 'error' && m.id === 'x2'),
      (m) => m !== undefined,
    );
    assert.equal(bad!.code, 'CAMGATE_VIEWER_BAD_OFFER');
    assert.match(String(bad!.message), /^Your browser offered video the media server cannot use/);
    await until(
      async () => stack.engine.stats().pipelines,
      (n) => n === pipelines,
    );
    assert.equal(ws.readyState, WebSocket.OPEN, 'the socket stays open for other players');
    ws.close();
  });

  it('refuses a wrong password, then rate-limits the account with a clear message', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${hubUrl}/login`);
    for (let i = 0; i < 3; i++) {
      assert.equal(await failedSignIn(page, hubUrl, 'carol', 'wrong-password'), 'Wrong user name or password.');
    }
    const limited = await failedSignIn(page, hubUrl, 'carol', 'carol-Pass-3Xw8');
    assert.match(
      limited,
      /^Too many sign-in attempts for this account from this address\. Wait (\d+ seconds?|\d+ minutes) and try again\.$/,
    );
    assert.match(page.url(), /\/login$/, 'still on the sign-in page');
    await page.context().close();
  });
});
