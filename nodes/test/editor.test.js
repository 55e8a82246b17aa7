'use strict';
/**
 * The Node-RED 5 editor in headless Chromium: the camgate palette category,
 * the camera config dialog (a bad RTSP URL shows a visible error, a good one
 * saves), the help text in the sidebar. Requests to anything but 127.0.0.1
 * are aborted. A screenshot is kept in test-artifacts/ (gitignored).
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startNodeRed } = require('./lib/node-red-process.js');

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

for (const nodeRedPackage of ['node-red', 'node-red-4']) {
  describe(`the ${nodeRedPackage} editor with node-red-contrib-camgate`, () => {
    let nr;
    let browser;
    let page;
    const offLoopback = [];
    before(async () => {
      nr = await startNodeRed(nodeRedPackage);
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.route('**/*', (route) => {
        const u = new URL(route.request().url());
        if (u.hostname === '127.0.0.1' || u.protocol === 'data:') return route.continue();
        offLoopback.push(u.href);
        return route.abort();
      });
      // Generous: the editor's first load is slow on a busy machine.
      await page.goto(nr.base + '/', { timeout: 120_000 });
      await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType('camgate-camera'));
    });
    after(async () => {
      await browser?.close();
      await nr?.close();
    });

    it('shows the camgate palette category with the flow nodes', async () => {
      const category = page.locator('#red-ui-palette-container-camgate');
      await category.waitFor();
      const text = await category.innerText();
      const flat = text.replace(/\s+/g, ' ');
      for (const label of ['gateway events', 'LAN audit', 'flags', 'MQTT bridge', 'viewer link'])
        assert.ok(flat.includes(label), label);
    });

    it('opens the camera dialog, shows a bad RTSP URL as an error, and saves a good one', async () => {
      await page.evaluate(() => RED.editor.editConfig('', 'camgate-camera', '_ADD_'));
      const url = page.locator('#node-config-input-url');
      await url.waitFor({ state: 'visible' });
      await page.fill('#node-config-input-name', 'Front door');
      await page.fill('#node-config-input-cameraId', 'front-door');
      await page.fill('#node-config-input-username', 'admin');
      await page.fill('#node-config-input-password', 'do-not-leak-9271');
      await url.fill('rtsp://admin:pw@192.168.1.64/stream1');
      await url.dispatchEvent('change');
      await page.waitForFunction(() =>
        document.querySelector('#node-config-input-url').classList.contains('input-error'),
      );
      // The reason is a tooltip on the field (Node-RED >= 3 validators that return a string).
      await url.hover();
      await page.locator('.red-ui-popover').filter({ hasText: 'without user:password' }).waitFor();
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, `nodes-editor-camera-dialog-${nodeRedPackage}.png`);
      await page.screenshot({ path: shot });
      assert.ok(fs.statSync(shot).size > 10_000);
      await url.fill('rtsp://192.168.1.64:554/stream1');
      await url.dispatchEvent('change');
      await page.waitForFunction(
        () => !document.querySelector('#node-config-input-url').classList.contains('input-error'),
      );
      await page.click('#node-config-dialog-ok');
      const saved = await page.waitForFunction(() => {
        let found;
        RED.nodes.eachConfig((n) => {
          if (n.type === 'camgate-camera' && n.cameraId === 'front-door')
            found = { url: n.url, valid: n.valid, props: JSON.stringify(Object.keys(n)) };
        });
        return found;
      });
      const cam = await saved.jsonValue();
      assert.equal(cam.url, 'rtsp://192.168.1.64:554/stream1');
      assert.equal(cam.valid, true);
      // The password is a credential: the exported flow has none of it.
      const exported = await page.evaluate(() =>
        JSON.stringify(RED.nodes.createCompleteNodeSet({ credentials: false })),
      );
      assert.ok(exported.includes('front-door'));
      assert.ok(!exported.includes('do-not-leak-9271'));
    });

    it('marks a bad viewer-link hub URL and a bad gateway media address invalid, with the reason', async () => {
      const result = await page.evaluate(() => {
        const z = RED.workspaces.active();
        const base = { type: 'camgate-viewer-link', z, x: 200, gatewayId: '', wires: [] };
        // Every property the gateway's editor validates, so only the media address differs.
        const gw = { type: 'camgate-gateway', hubUrl: 'wss://h/tunnel', backend: 'engine', kmsUrl: '', cameras: [] };
        RED.view.importNodes([
          { ...base, id: 'vlbad', hubUrl: 'https://user:pw@hub.example.org', y: 100 },
          { ...base, id: 'vlgood', hubUrl: 'https://hub.example.org/cams', y: 160 },
          { ...gw, id: 'gwbad', gatewayId: 'home-1', mediaAddress: '::1' },
          { ...gw, id: 'gwgood', gatewayId: 'home-2', mediaAddress: '192.168.1.20' },
        ]);
        const valid = (id) => {
          const n = RED.nodes.node(id);
          RED.editor.validateNode(n);
          return n.valid;
        };
        const reason = RED.nodes.getType('camgate-viewer-link').defaults.hubUrl.validate('ftp://x', {});
        return {
          vlbad: valid('vlbad'),
          vlgood: valid('vlgood'),
          gwbad: valid('gwbad'),
          gwgood: valid('gwgood'),
          reason,
        };
      });
      assert.deepEqual(
        { ...result, reason: undefined },
        { vlbad: false, vlgood: true, gwbad: false, gwgood: true, reason: undefined },
      );
      assert.match(result.reason, /http:\/\/ or https:\/\/ address/);
    });

    it('offers "Keep cameras warm" on the gateway dialog, checked by default', async () => {
      await page.evaluate(() => RED.editor.editConfig('', 'camgate-gateway', '_ADD_'));
      const box = page.locator('#node-config-input-keepWarm');
      await box.waitFor({ state: 'visible' });
      assert.equal(await box.isChecked(), true);
      const label = await box.evaluate((el) => el.nextElementSibling.textContent);
      assert.equal(label, 'Keep cameras warm');
      await page.click('#node-config-dialog-cancel');
      await box.waitFor({ state: 'detached' });
    });

    it('shows a gateway without keepWarm (an older or hand-written flow) with "Keep cameras warm" on, and saves it on', async () => {
      const saved = await page.evaluate(() => {
        RED.view.importNodes([
          {
            id: 'gwold',
            type: 'camgate-gateway',
            hubUrl: 'wss://h/tunnel',
            gatewayId: 'old-1',
            backend: 'engine',
            cameras: [],
          },
        ]);
        return RED.nodes.node('gwold').keepWarm;
      });
      assert.equal(saved, undefined, 'the import keeps the flow as it was');
      await page.evaluate(() => RED.editor.editConfig('', 'camgate-gateway', 'gwold'));
      const box = page.locator('#node-config-input-keepWarm');
      await box.waitFor({ state: 'visible' });
      assert.equal(await box.isChecked(), true);
      assert.equal(await page.locator('#node-config-input-persistFlags').isChecked(), true);
      await page.click('#node-config-dialog-ok');
      await box.waitFor({ state: 'detached' });
      assert.equal(await page.evaluate(() => RED.nodes.node('gwold').keepWarm), true);
    });

    it('imports two examples from Import → Examples (readable titles): one gateway, counted cameras, exported with the flow', async () => {
      // Gateways and cameras earlier tests of this page made; the imports must add exactly one and two.
      const earlier = await page.evaluate(() => {
        const ids = [];
        RED.nodes.eachConfig((n) => {
          if (n.type === 'camgate-gateway' || n.type === 'camgate-camera') ids.push(n.id);
        });
        return ids;
      });
      const titles = await importExample(page, 'Remote viewing through a hub');
      assert.ok(titles.length >= 3 && titles.every((t) => /^[A-Z][^-_]* [^-_]+$/.test(t)), `readable: ${titles}`);
      await importExample(page, 'Nightly LAN audit', { conflict: 'Import copy' });
      const state = await page.evaluate(() => {
        const configs = { gateways: [], cameras: [] };
        RED.nodes.eachConfig((n) => {
          if (n.type === 'camgate-gateway') configs.gateways.push(n.id);
          if (n.type === 'camgate-camera') configs.cameras.push({ id: n.id, users: n.users.length });
        });
        const tabs = [];
        RED.nodes.eachWorkspace((w) => {
          if (/^camgate: /.test(w.label)) tabs.push(w.id);
        });
        // "Export → current flow" (clipboard.js): the tab's nodes and the config nodes they lead to.
        const exported = tabs.map((z) =>
          RED.nodes
            .createExportableNodeSet([RED.nodes.workspace(z), ...RED.nodes.filterNodes({ z })])
            .filter((n) => n.type === 'camgate-camera' || n.type === 'camgate-gateway')
            .map((n) => n.id)
            .sort(),
        );
        const gw = RED.nodes.node('camgate-example-gateway');
        const listType = RED.nodes.getType('camgate-gateway').defaults.cameras.type;
        return { ...configs, tabs: tabs.length, exported, keepWarm: gw && gw.keepWarm, listType };
      });
      assert.equal(state.tabs, 2, 'both examples imported');
      assert.deepEqual(
        state.gateways.filter((id) => !earlier.includes(id)),
        ['camgate-example-gateway'],
        'the second import reused the gateway',
      );
      const cameras = state.cameras.filter((c) => !earlier.includes(c.id));
      assert.deepEqual(
        cameras.map((c) => c.id).sort(),
        ['camgate-example-front-door', 'camgate-example-garden'],
        'and the cameras',
      );
      for (const c of cameras) assert.ok(c.users >= 2, `camera ${c.id} is used (${c.users} users)`);
      assert.equal(state.keepWarm, true);
      assert.equal(state.listType, 'camgate-camera[]', "the gateway's camera list is a config-node reference");
      const shared = ['camgate-example-front-door', 'camgate-example-garden', 'camgate-example-gateway'];
      assert.deepEqual(state.exported, [shared, shared]);
    });

    it('has help text in the sidebar for every camgate node', async () => {
      const help = await page.evaluate(() =>
        [
          'camgate-camera',
          'camgate-gateway',
          'camgate-events',
          'camgate-exposure',
          'camgate-flags',
          'camgate-mqtt-bridge',
          'camgate-viewer-link',
        ].map((t) => [t, (RED.nodes.getType(t) && $(`script[data-help-name="${t}"]`).html()) || '']),
      );
      for (const [t, html] of help) assert.ok(html.length > 100, `help for ${t}`);
      assert.deepEqual(offLoopback, [], 'the editor asked for nothing off loopback');
    });
  });
}

/**
 * Menu → Import → Examples → node-red-contrib-camgate → `title` → Import, as a user does; with `conflict`, the
 * button to press on Node-RED's "some of the nodes already exist" notification. Resolves with the titles listed.
 */
async function importExample(page, title, { conflict } = {}) {
  await page.evaluate(() => RED.actions.invoke('core:show-examples-import-dialog'));
  const label = (text) => page.locator('.red-ui-treeList-label').filter({ hasText: text, visible: true });
  // The folder's entries load asynchronously, and a click while the tree is still building can be lost or fold it
  // again: click until the example shows, a bounded number of times.
  for (let i = 0; i < 10 && !(await label(title).first().isVisible()); i++) {
    await label('node-red-contrib-camgate').first().click();
    await label(title)
      .first()
      .waitFor({ timeout: 5_000 })
      .catch(() => undefined);
  }
  await label(title).first().waitFor();
  const titles = await page.evaluate(() =>
    [...document.querySelectorAll('.red-ui-treeList-label')]
      .filter((el) => el.querySelector('.fa-file-o'))
      .map((el) => el.textContent.trim()),
  );
  await label(title).first().click();
  await page.click('#red-ui-clipboard-dialog-ok');
  if (conflict) await page.locator('.red-ui-notification button').filter({ hasText: conflict }).click();
  await page.waitForFunction((t) => {
    let found = 0;
    RED.nodes.eachWorkspace((w) => (found += w.label.toLowerCase() === 'camgate: ' + t.toLowerCase() ? 1 : 0));
    return found === 1;
  }, title);
  return titles.filter((t) => t !== 'flows');
}
