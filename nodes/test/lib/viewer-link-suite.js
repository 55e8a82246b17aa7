'use strict';
/**
 * camgate-viewer-link with node-red-node-test-helper, once per Node-RED major
 * (viewer-link-nr5.test.js, viewer-link-nr4.test.js). The link format itself
 * is checked against the real viewer in Chromium by runtime-suite.js.
 */
const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const helper = require('node-red-node-test-helper');
const fx = require('./fixtures.js');
const { collector } = require('./collector.js');
const { translatedNodes } = require('./i18n.js');

const cameraNode = require('../../nodes/camgate-camera.js');
const gatewayNode = require('../../nodes/camgate-gateway.js');
const flagsNode = require('../../nodes/camgate-flags.js');
const linkNode = require('../../nodes/camgate-viewer-link.js');
const SETS = {
  'camgate-camera': cameraNode,
  'camgate-gateway': gatewayNode,
  'camgate-flags': flagsNode,
  'camgate-viewer-link': linkNode,
};
/** The node modules with Node-RED's message lookup (set in `before`). */
let ALL = Object.values(SETS);
let linkOnly = [linkNode];

const HUB = 'https://hub.example.org';

function link(extra = {}) {
  return { id: 'vl', z: 't1', type: 'camgate-viewer-link', hubUrl: HUB, gatewayId: '', wires: [['out']], ...extra };
}

/** A flow: viewer link → helper, failures → Catch → helper. */
function flowWith(linkProps) {
  return [
    { id: 't1', type: 'tab' },
    link(linkProps),
    { id: 'out', z: 't1', type: 'helper' },
    { id: 'c', z: 't1', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
    { id: 'err', z: 't1', type: 'helper' },
  ];
}

function defineViewerLinkTests(nodeRedPackage) {
  describe(`camgate-viewer-link on ${nodeRedPackage}`, () => {
    const catchNode = require(
      require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [require.resolve(nodeRedPackage)] }),
    );
    before(async () => {
      helper.init(require.resolve(nodeRedPackage));
      ALL = await translatedNodes(nodeRedPackage, SETS);
      linkOnly = [ALL[3]];
    });
    afterEach(async () => {
      await helper.unload();
    });

    it('links a flag raised in the gateway store (through camgate-flags) to its camera; the message passes on', async () => {
      const flow = [
        { id: 't1', type: 'tab' },
        {
          id: 'cam1',
          type: 'camgate-camera',
          cameraId: 'front-door',
          url: 'rtsp://127.0.0.1:8554/s',
          host: '127.0.0.1',
          ports: '554',
        },
        {
          id: 'gw1',
          type: 'camgate-gateway',
          hubUrl: 'ws://127.0.0.1:9/tunnel',
          gatewayId: fx.GATEWAY_ID,
          backend: 'engine',
          cameras: ['cam1'],
          persistFlags: false,
        },
        { id: 'f1', z: 't1', type: 'camgate-flags', gateway: 'gw1', kind: 'all', wires: [['vl']] },
        link(),
        { id: 'out', z: 't1', type: 'helper' },
      ];
      await helper.load(ALL, flow, {
        cam1: { username: fx.CAMERA_USER, password: fx.CAMERA_PASSWORD },
        gw1: { secret: fx.GATEWAY_SECRET },
      });
      const runtime = helper.getNode('gw1').runtime;
      await runtime.ready;
      const out = collector(helper.getNode('out'));
      await runtime.store.raise({
        kind: 'telnet-open',
        gatewayId: fx.GATEWAY_ID,
        cameraId: 'front-door',
        key: 'port-23',
        evidence: [{ host: '127.0.0.1', port: 23, protocol: 'telnet', at: new Date().toISOString() }],
        advice: 'turn telnet off',
        source: 'gateway',
      });
      const m = await out.next();
      assert.equal(m.url, `${HUB}/#camera=${fx.GATEWAY_ID}/front-door`);
      assert.equal(m.payload.to, 'raised');
      assert.equal(m.topic, `camgate/${fx.GATEWAY_ID}/flags/${m.payload.flag.id}`);
      const text = JSON.stringify(m);
      for (const s of [fx.GATEWAY_SECRET, fx.CAMERA_PASSWORD, fx.CAMERA_USER]) assert.ok(!text.includes(s));
    });

    it('accepts a flag, a gateway-wide flag, "GATEWAY/CAMERA" and a bare camera id with the configured gateway', async () => {
      await helper.load(
        [...linkOnly, catchNode],
        flowWith({ hubUrl: 'https://cams.example.org/viewer/', gatewayId: 'home-2' }),
      );
      const out = collector(helper.getNode('out'));
      const vl = helper.getNode('vl');
      const base = 'https://cams.example.org/viewer';
      vl.receive({ payload: { kind: 'exposed', gatewayId: 'home-1', cameraId: 'porch', id: 'f' }, n: 1 });
      vl.receive({
        payload: { from: 'clear', to: 'raised', flag: { kind: 'upnp-mapping', gatewayId: 'home-1' } },
        n: 2,
      });
      vl.receive({ payload: 'home-3/garage', n: 3 });
      vl.receive({ payload: ' porch ', n: 4 });
      const got = await Promise.all([1, 2, 3, 4].map((n) => out.next((m) => m.n === n)));
      assert.deepEqual(
        got.map((m) => m.url),
        [`${base}/#camera=home-1/porch`, `${base}/`, `${base}/#camera=home-3/garage`, `${base}/#camera=home-2/porch`],
      );
      assert.equal(got[0].payload.cameraId, 'porch', 'payload unchanged');
    });

    it('fails hostile or unusable payloads with done(err), which a Catch node sees; nothing goes out', async () => {
      await helper.load([...linkOnly, catchNode], flowWith());
      const out = collector(helper.getNode('out'));
      const err = collector(helper.getNode('err'));
      const vl = helper.getNode('vl');
      const bad = [
        [42, /must be a flag/],
        [null, /must be a flag/],
        [{ kind: 'exposed' }, /must be a flag/],
        ['porch', /no gateway id is configured/],
        ['home-1/../../admin', /camera id "..\/..\/admin" is not valid/],
        ['home-1/porch#x', /camera id "porch#x" is not valid/],
        ['<script>/porch', /gateway id "<script>" is not valid/],
        [`home-1/${'a'.repeat(100_000)}`, /camera id "a{80}" is not valid/],
        [{ flag: { kind: 'exposed', gatewayId: 'home-1', cameraId: 'x y' } }, /camera id "x y" is not valid/],
      ];
      bad.forEach(([payload], i) => vl.receive({ payload, n: i }));
      const errors = await Promise.all(bad.map((_, i) => err.next((m) => m.n === i)));
      errors.forEach((m, i) => {
        assert.match(m.error.message, bad[i][1], `payload #${i}`);
        assert.equal(m.error.source.id, 'vl');
        assert.ok(m.error.message.length < 400, 'an oversized payload is not echoed back whole');
      });
      assert.equal(out.msgs.length, 0);
    });

    for (const [hubUrl, why] of [
      ['https://user:pw@hub.example.org', 'user info'],
      ['javascript:alert(1)', 'not http(s)'],
      ['https://hub.example.org/?x=1', 'a query'],
      ['https://hub.example.org/#camera=a/b', 'a fragment'],
      ['', 'empty'],
    ]) {
      it(`refuses a hub URL with ${why}: logs the rule, and every message fails`, async () => {
        const flow = flowWith({ hubUrl });
        await helper.load([...linkOnly, catchNode], flow);
        const vl = helper.getNode('vl');
        const err = collector(helper.getNode('err'));
        vl.receive({ payload: 'home-1/porch' });
        const m = await err.next();
        assert.match(m.error.message, /the hub URL is not valid/);
        const logged = helper.log().args.map((a) => a[0]);
        const at = logged.find((l) => l.id === 'vl' && l.level === 20); // 20: error (@node-red/util log levels)
        assert.match(at.msg, /hubUrl: .* is not allowed \(the hub's http:\/\/ or https:\/\/ URL/);
        assert.ok(!JSON.stringify(logged).includes(':pw@'), 'a password in the URL is not logged');
      });
    }
  });
}

module.exports = { defineViewerLinkTests };
