'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const fx = require('./fixtures.js');
const { startNodeRed } = require('./node-red-process.js');
const { defineViewerTests } = require('./runtime-viewer.js');
const { defineExampleTests } = require('./runtime-examples.js');

/** Deploys `flow` (full deploy) and returns the log lines Node-RED wrote meanwhile. */
async function deploy(nr, flow) {
  const before = nr.log().length;
  const { rev } = await nr.api('GET', '/flows');
  await nr.api('POST', '/flows', { rev, flows: flow }, { 'Node-RED-Deployment-Type': 'full' });
  return () => nr.log().slice(before);
}

function defineRuntimeTests(nodeRedPackage) {
  defineExampleTests(nodeRedPackage, deploy);
  describe(`a real ${nodeRedPackage} runtime with node-red-contrib-camgate`, () => {
    let nr;
    let env;
    before(async () => {
      env = await fx.startHub();
      nr = await startNodeRed(nodeRedPackage);
    });
    after(async () => {
      await nr?.close();
      await env?.hub.close();
    });

    it('loads every camgate node type without errors', async () => {
      const sets = await nr.api('GET', '/nodes', undefined, { accept: 'application/json' });
      const ours = sets.filter((s) => s.module === 'node-red-contrib-camgate');
      assert.deepEqual(ours.map((s) => s.name).sort(), [
        'camgate-camera',
        'camgate-events',
        'camgate-exposure',
        'camgate-flags',
        'camgate-gateway',
        'camgate-mqtt-bridge',
        'camgate-viewer-link',
      ]);
      for (const s of ours) {
        assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
        assert.equal(s.enabled, true);
      }
    });

    it('a gateway deployed through the admin API dials the test hub; credentials stay out of the flow file', async () => {
      const online = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && e.online);
      const flow = [
        { id: 'tab1', type: 'tab', label: 'camgate' },
        {
          id: 'cam1',
          type: 'camgate-camera',
          name: 'Front door',
          cameraId: 'front-door',
          url: 'rtsp://127.0.0.1:8554/s',
          host: '127.0.0.1',
          ports: '554',
          credentials: { username: fx.CAMERA_USER, password: fx.CAMERA_PASSWORD },
        },
        {
          id: 'gw1',
          type: 'camgate-gateway',
          name: 'Home',
          hubUrl: env.tunnelUrl,
          gatewayId: fx.GATEWAY_ID,
          backend: 'engine',
          cameras: ['cam1'],
          persistFlags: true,
          credentials: { secret: fx.GATEWAY_SECRET },
        },
        { id: 'ev1', z: 'tab1', type: 'camgate-events', gateway: 'gw1', wires: [[]] },
      ];
      const logs = await deploy(nr, flow);
      const [info] = await online;
      assert.equal(info.remoteAddress, '127.0.0.1');
      const flowFile = fs.readFileSync(path.join(nr.userDir, 'flows.json'), 'utf8');
      for (const s of [fx.GATEWAY_SECRET, fx.CAMERA_PASSWORD]) {
        assert.ok(!flowFile.includes(s), 'flows.json must not hold a credential');
        assert.ok(!nr.log().includes(s), 'the Node-RED log must not hold a credential');
      }
      const got = await nr.api('GET', '/flows');
      assert.ok(!JSON.stringify(got).includes(fx.GATEWAY_SECRET), 'the admin API must not return the secret');
      // Redeploying without the gateway stops it: the hub sees it leave.
      const offline = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && !e.online);
      await deploy(nr, [{ id: 'tab1', type: 'tab', label: 'empty' }]);
      await offline;
      assert.deepEqual(
        logs()
          .split('\n')
          .filter((l) => /\[error\]/.test(l)),
        [],
      );
    });

    defineViewerTests(() => nr, deploy);
  });
}

module.exports = { defineRuntimeTests };
