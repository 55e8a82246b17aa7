/**
 * Flags in the hub's viewer, end to end in Chromium (issue 13, "Every surface
 * shows it" — the hub's viewer): the outside monitor's findings (a real scan
 * of a loopback RTSP service → a flag of the whole home; a flag naming a
 * camera, as attribution produces) and the gateway's own LAN audit (a real
 * telnet service on loopback → `telnet-open` on a camera, sent to the hub over
 * the tunnel) appear as a badge on the camera and a banner for the home, with
 * the evidence and the advice in words; cleared, they go. Nothing secret and
 * no LAN address reaches the hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { adviceFor } from '../../gateway-core/src/alerts/index.js';
import { LanAudit } from '../../gateway-core/src/exposure/index.js';
import { FlagService } from '../../gateway-core/src/gateway/index.js';
import { addUser } from '../../gateway-core/src/hub/index.js';
import { closedPort, startRtspServer, startTelnetServer } from '../../gateway-core/test/helpers/exposure.js';
import { startStack, GATEWAY_ID, type Stack } from '../../gateway-core/test/helpers/stack.js';
import { launchViewerBrowser, signIn } from './helpers/browser.js';

const CAM_PASSWORD = 'e2e-Flag-pw-4Rt8';
const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };
const ERIN = { name: 'erin', password: 'erin-Pass-5Lm2' };
const FRANK = { name: 'frank', password: 'frank-Pass-8Qz3' };
/** Every wait in this file ends by then (Chromium on a loaded machine is slow, never this slow). */
const WAIT_MS = 60_000;

interface PageFlags {
  cameras: Record<string, string>;
  home: string;
  ids: string[];
  /** Flag lists the page has received. */
  updates: number;
}

function pageFlags(page: Page): Promise<PageFlags> {
  return page.evaluate(() => (window as unknown as { camgateViewer: { flags(): PageFlags } }).camgateViewer.flags());
}

/** Waits (bounded) until the page's flags satisfy `pred`; fails with what the page showed last. */
async function flagsUntil(page: Page, pred: (f: PageFlags) => boolean, what: string): Promise<PageFlags> {
  const deadline = Date.now() + WAIT_MS;
  let last: PageFlags | undefined;
  while (Date.now() < deadline) {
    last = await pageFlags(page);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not seen within ${WAIT_MS} ms; the page showed ${JSON.stringify(last)}`);
}

describe('flags in the viewer (Chromium)', () => {
  let stack: Stack;
  let browser: Browser;
  let dir: string;
  let flags: FlagService;
  let rtsp: Awaited<ReturnType<typeof startRtspServer>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'camgate-viewer-flags-'));
    const usersFile = join(dir, 'users.json');
    await addUser(usersFile, { ...ALICE, cameras: [`${GATEWAY_ID}/porch`, `${GATEWAY_ID}/garage`] });
    await addUser(usersFile, { ...ERIN, cameras: [`${GATEWAY_ID}/garage`] });
    await addUser(usersFile, { ...FRANK, cameras: ['another-home/porch'] });
    // Cameras nobody plays here: the closed port keeps the stack from reaching anything.
    const url = `rtsp://127.0.0.1:${await closedPort()}/stream`;
    const cameras = [
      { id: 'porch', name: 'Porch', url, username: 'admin', password: CAM_PASSWORD },
      { id: 'garage', name: 'Garage', url, username: 'admin', password: CAM_PASSWORD },
    ];
    // What the outside monitor will find on the home's (loopback) address.
    rtsp = await startRtspServer({ mode: 'open', server: 'FlagCam/2.1' });
    stack = await startStack({
      cameras,
      hub: {
        viewer: { usersFile, acceptBrowserCandidate: () => false },
        exposure: {
          engine: 'builtin',
          ports: [rtsp.port],
          portProtocols: { [rtsp.port]: 'rtsp' },
          clearAfterCleanScans: 1,
          scanOnConnect: false,
        },
      },
    });
    // The gateway's flags, wired as `camgate gateway` wires them: the Gateway is the control source.
    flags = await FlagService.create({ gatewayId: GATEWAY_ID, cameras, audit: false, control: stack.gateway });
    browser = await launchViewerBrowser();
  });

  after(async () => {
    await browser?.close();
    await flags?.close();
    await stack?.close();
    await rtsp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows a camera badge and a home banner with evidence and advice, only to those granted, and clears them', async (t) => {
    const exposure = stack.hub.exposure!;
    // 1. The outside monitor scans the home for real and finds an RTSP service: a flag of the whole home.
    await exposure.scanNow(GATEWAY_ID);
    const [home] = exposure.store.list({ state: 'raised', kind: 'exposed' });
    assert.ok(home && home.cameraId === undefined, 'the scan raised a home-wide exposed flag');

    // 2. A flag naming a camera, as attribution raises it.
    await exposure.store.raise({
      kind: 'exposed',
      gatewayId: GATEWAY_ID,
      cameraId: 'porch',
      key: 'port-8554',
      evidence: [
        {
          host: '203.0.113.7',
          port: 8554,
          protocol: 'rtsp',
          banner: 'RTSP/1.0 401 Unauthorized',
          at: new Date().toISOString(),
        },
      ],
      advice: adviceFor('exposed', { cameraName: 'Porch', port: 8554, protocol: 'RTSP' }),
      source: 'hub',
    });

    // 3. The gateway's own LAN audit finds telnet on the porch camera (a real telnet service on loopback whose
    // banner echoes the camera's address and password: neither may reach the hub).
    const telnet = await startTelnetServer(`BusyBox on 127.0.0.1 pw=${CAM_PASSWORD}\r\n`);
    let telnetOpen = true;
    t.after(() => (telnetOpen ? telnet.close() : undefined));
    const audit = new LanAudit({
      gatewayId: GATEWAY_ID,
      cameras: [{ id: 'porch', name: 'Porch', host: '127.0.0.1', telnetPorts: [telnet.port] }],
      flags: flags.store,
      upnp: { enabled: false },
    });
    await audit.run();
    assert.equal(flags.store.list({ state: 'raised', kind: 'telnet-open' }).length, 1);

    const page = await signIn(browser, stack.hub.url, ALICE.name, ALICE.password);
    const shown = await flagsUntil(
      page,
      (f) => /Telnet is open/.test(f.cameras[`${GATEWAY_ID}/porch`] ?? '') && /Reachable/.test(f.home),
      'porch badge with both flags, home banner',
    );
    const badge = shown.cameras[`${GATEWAY_ID}/porch`]!;
    // The summary names the worst problem first (reachable from the internet) and counts the rest in words.
    assert.match(badge, /^⚠ Reachable from the internet \(\+1 more\)/);
    assert.match(badge, /Port 8554 \(RTSP\), from the internet — answered: RTSP\/1\.0 401 Unauthorized/);
    assert.match(badge, /found on your home network/);
    assert.match(
      badge,
      /Port \d+ \(TELNET\), on your home network — answered: BusyBox on camera porch pw=\[redacted\] · camera login:/,
    );
    assert.match(badge, /The camera "Porch" accepts telnet connections on your home network/);
    assert.match(badge, /Port 8554 on your home's public address answers RTSP from the internet/);
    assert.equal(shown.cameras[`${GATEWAY_ID}/garage`], undefined, 'no badge on a camera without flags');
    assert.match(shown.home, /Your home network "Home" needs attention/);
    assert.match(shown.home, new RegExp(`Port ${rtsp.port} \\(RTSP\\), from the internet — answered: .*FlagCam/2\\.1`));
    assert.match(shown.home, /answers RTSP from the internet, so anyone can try to log in to a camera/);
    const text = (await page.textContent('body')) ?? '';
    assert.doesNotMatch(text, new RegExp(CAM_PASSWORD), 'no camera password on the page');
    // Accessible: the banner is an alert region and the badge speaks in words (not only a colour).
    assert.equal(await page.getAttribute('[data-testid="home-banner"]', 'role'), 'alert');
    assert.equal(await page.isVisible('[data-testid="home-banner"]'), true);
    assert.equal(await page.isVisible(`[data-testid="flag-badge"][data-camera="porch"]`), true);
    await page.click(`[data-testid="flag-badge"][data-camera="porch"] summary`);
    assert.equal(await page.isVisible(`[data-testid="flag-badge"][data-camera="porch"] .flag-advice`), true);
    assert.match((await page.textContent('#flag-announce')) ?? '', /Camera Porch: /);
    await mkdir(join(process.cwd(), '..', 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), '..', 'test-artifacts', 'viewer-flags.png'), fullPage: true });

    // What the hub holds of the gateway's flag: no LAN address, no camera password.
    const atHub = JSON.stringify(stack.hub.gatewayFlags.list(GATEWAY_ID));
    assert.match(atHub, /telnet-open/);
    assert.doesNotMatch(atHub, /127\.0\.0\.1/);
    assert.doesNotMatch(atHub, new RegExp(CAM_PASSWORD));

    // Only the signed-in person's cameras: erin (garage only) sees the home banner, not the porch badge;
    // frank (another home) sees nothing of this one.
    const erin = await signIn(browser, stack.hub.url, ERIN.name, ERIN.password);
    const erinFlags = await flagsUntil(erin, (f) => /Reachable/.test(f.home), 'home banner for erin');
    assert.deepEqual(Object.keys(erinFlags.cameras), []);
    assert.deepEqual(erinFlags.ids, [home.id]);
    // (signIn waits for a camera in the list: frank has none here, so sign in by hand.)
    const frank = await browser.newContext().then((c) => c.newPage());
    await frank.goto(`${stack.hub.url}/login`);
    await frank.fill('#name', FRANK.name);
    await frank.fill('#password', FRANK.password);
    await frank.click('#submit');
    await frank.waitForURL(`${stack.hub.url}/`);
    const frankFlags = await flagsUntil(frank, (f) => f.updates > 0, 'a flag list for frank');
    assert.deepEqual({ ...frankFlags, updates: 0 }, { cameras: {}, home: '', ids: [], updates: 0 });

    // Cleared everywhere: the port closes (one clean scan clears here), attribution finds the camera closed,
    // and the telnet service goes away (the gateway clears after two clean audits).
    await rtsp.close();
    await exposure.scanNow(GATEWAY_ID);
    await exposure.store.reconcile({ source: 'hub', gatewayId: GATEWAY_ID, kinds: ['exposed'], cameraId: 'porch' }, []);
    await flagsUntil(
      page,
      (f) => f.home === '' && !/Reachable/.test(f.cameras[`${GATEWAY_ID}/porch`] ?? ''),
      'hub flags cleared',
    );
    assert.match((await pageFlags(page)).cameras[`${GATEWAY_ID}/porch`] ?? '', /Telnet is open/);
    await telnet.close();
    telnetOpen = false;
    await audit.run();
    await audit.run();
    assert.equal(flags.store.list({ state: 'raised' }).length, 0);
    const gone = await flagsUntil(page, (f) => Object.keys(f.cameras).length === 0, 'gateway flag cleared');
    assert.deepEqual({ ...gone, updates: 0 }, { cameras: {}, home: '', ids: [], updates: 0 });
    assert.equal(await page.isVisible('[data-testid="home-banner"]'), false);
    assert.equal(await page.locator('[data-testid="flag-badge"]').count(), 0);
    assert.deepEqual(stack.hub.gatewayFlags.list(GATEWAY_ID), []);
    await erin.context().close();
    await frank.context().close();
    await page.context().close();
  });
});
