'use strict';
/**
 * Issue 5, "a flow with the gateway node connects to a real hub started by
 * the test and a viewer sees video through it": a simulated RTSP camera
 * (Digest auth), a hub with its viewer web app, a flow deployed to the real
 * Node-RED whose camgate-gateway runs the built-in engine, and Chromium
 * signing in on the hub. The browser helpers are the shared test helpers'
 * (@camgate/test-helpers, TypeScript), loaded through tsx, not copied.
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { tsImport } = require('tsx/esm/api');
const fx = require('./fixtures.js');
const { hubBase, viewerLink } = require('../../lib/viewer-link.js');

const ALICE = { name: 'alice', password: 'alice-Pass-nr-5Tq8' };
const CAM_USER = 'admin';

/** Only loopback candidates reach the engine: tests send traffic to 127.0.0.0/8 alone. */
const loopbackOnly = (c) => c.split(' ')[4] === '127.0.0.1';

/**
 * @param {() => object} getNr  the running Node-RED (node-red-process.js), once the outer `before` ran
 * @param {(nr: object, flow: object[]) => Promise<() => string>} deploy  full deploy; returns the log since
 */
function defineViewerTests(getNr, deploy) {
  describe('a viewer in Chromium watches a camera through a Node-RED gateway', () => {
    let b;
    let env;
    let cam;
    let browser;
    let dir;
    let hubUrl;

    before(async () => {
      const core = await import('@camgate/core');
      const { startCameraSim } = await import('@camgate/camera-sim');
      b = await tsImport('@camgate/test-helpers', __filename);
      // addUser is the hub's account tool (camgate hub add-user), on the core's public face.
      const { addUser } = core;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camgate-nr-viewer-'));
      const usersFile = path.join(dir, 'users.json');
      await addUser(usersFile, { ...ALICE, cameras: [`${fx.GATEWAY_ID}/*`] });
      cam = await startCameraSim({
        username: CAM_USER,
        password: fx.CAMERA_PASSWORD,
        width: 320,
        height: 240,
        fps: 25,
        gopSeconds: 1,
      });
      env = await fx.startHub({ viewer: { usersFile, acceptBrowserCandidate: loopbackOnly } });
      hubUrl = env.hub.url.replace(/\/$/, '');
      browser = await b.launchViewerBrowser();
      const online = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && e.online);
      const camera = (id, cameraId) => ({
        id,
        type: 'camgate-camera',
        name: cameraId,
        cameraId,
        url: cam.url,
        host: '127.0.0.1',
        ports: '',
        credentials: { username: CAM_USER, password: fx.CAMERA_PASSWORD },
      });
      await deploy(getNr(), [
        { id: 'vtab', type: 'tab', label: 'camgate viewer' },
        camera('vcam1', 'porch'),
        camera('vcam2', 'yard'),
        {
          id: 'vgw',
          type: 'camgate-gateway',
          name: 'Home',
          hubUrl: env.tunnelUrl,
          gatewayId: fx.GATEWAY_ID,
          backend: 'engine',
          // The engine's WebRTC host candidate: loopback, where the test's Chromium is.
          mediaAddress: '127.0.0.1',
          // Chromium runs on this machine: its candidates are loopback ones, which a gateway refuses by default.
          allowLanViewers: true,
          cameras: ['vcam1', 'vcam2'],
          persistFlags: false,
          credentials: { secret: fx.GATEWAY_SECRET },
        },
        { id: 'vev', z: 'vtab', type: 'camgate-events', gateway: 'vgw', wires: [[]] },
      ]);
      await online;
    });

    after(async () => {
      await browser?.close();
      // Stop the gateway (and its engine) before the hub goes, so nothing redials a closed port.
      const nr = getNr();
      if (nr) await deploy(nr, [{ id: 'vtab', type: 'tab', label: 'empty' }]).catch(() => undefined);
      await env?.hub.close();
      await cam?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('signs in, lists the gateway cameras, plays live video that changes; no credential in the log', async () => {
      const page = await b.signIn(browser, hubUrl, ALICE.name, ALICE.password);
      assert.deepEqual((await b.listedCameras(page)).sort(), [`${fx.GATEWAY_ID}/porch`, `${fx.GATEWAY_ID}/yard`]);
      const id = await b.watch(page, `${fx.GATEWAY_ID}/porch`);
      const s1 = await b.untilOnPage(
        () => b.stats(page, id),
        (s) => s.framesDecoded >= 10,
      );
      const h1 = await b.pictureHash(page, id);
      const s2 = await b.untilOnPage(
        () => b.stats(page, id),
        (s) => s.framesDecoded >= s1.framesDecoded + 25,
      );
      const h2 = await b.pictureHash(page, id);
      assert.ok(
        s2.framesDecoded > s1.framesDecoded,
        `framesDecoded grows (${s1.framesDecoded} -> ${s2.framesDecoded})`,
      );
      assert.equal(s2.frameWidth, 320);
      assert.equal(s2.frameHeight, 240);
      assert.ok(h1.endsWith(':320x240'), `picture drawn (${h1})`);
      assert.notEqual(h1, h2, 'the picture changes: live, not frozen');
      assert.ok(cam.stats.sessions >= 1, 'the engine inside Node-RED pulled the camera over RTSP');
      await b.untilOnPage(
        () => b.player(page, id),
        (p) => p.state === 'playing',
      );
      await page.context().close();
      const log = getNr().log();
      for (const s of [fx.GATEWAY_SECRET, fx.CAMERA_PASSWORD]) assert.ok(!log.includes(s), 'no credential in the log');
    });

    it("opens the camera camgate-viewer-link points at, through the sign-in, and on a later link's hash change", async () => {
      const base = hubBase(hubUrl);
      const porch = viewerLink(base, fx.GATEWAY_ID, 'porch');
      const yard = viewerLink(base, fx.GATEWAY_ID, 'yard');
      const page = await (await browser.newContext()).newPage();
      await page.goto(porch);
      // Not signed in: the hub redirects to /login and the fragment survives the redirect (RFC 9110 §10.2.2).
      await page.waitForURL(/\/login#camera=/);
      await page.fill('#name', ALICE.name);
      await page.fill('#password', ALICE.password);
      await page.click('#submit');
      await page.waitForURL(porch);
      const [p1] = await b.untilOnPage(
        () => b.players(page),
        (ps) => ps.length === 1,
      );
      assert.equal(p1.key, `${fx.GATEWAY_ID}/porch`);
      await b.untilOnPage(
        () => b.stats(page, p1.id),
        (s) => s.framesDecoded >= 5,
      );
      // A second link in the same, signed-in page: a hash change, no reload; the first player stays.
      await page.goto(yard);
      const ps = await b.untilOnPage(
        () => b.players(page),
        (x) => x.length === 2,
      );
      const p2 = ps.find((p) => p.id !== p1.id);
      assert.equal(p2.key, `${fx.GATEWAY_ID}/yard`);
      await b.untilOnPage(
        () => b.stats(page, p2.id),
        (s) => s.framesDecoded >= 5,
      );
      await page.context().close();
    });
  });
}

module.exports = { defineViewerTests };
