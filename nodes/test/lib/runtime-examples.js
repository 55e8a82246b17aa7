'use strict';
/**
 * "Each one deploys without errors on a fresh Node-RED with only this
 * package installed": per example, a new Node-RED process with an empty user
 * dir holding only node-red-contrib-camgate; the flow is read from the
 * runtime's own Import → Examples library (as the editor does) and deployed
 * through the admin API.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startNodeRed, PACKAGE_DIR } = require('./node-red-process.js');

const MODULE = 'node-red-contrib-camgate';
const EXAMPLES = fs
  .readdirSync(path.join(PACKAGE_DIR, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

/**
 * @param {string} nodeRedPackage  'node-red' (5) or 'node-red-4'
 * @param {(nr: object, flow: object[]) => Promise<() => string>} deploy  full deploy; returns the log since
 */
function defineExampleTests(nodeRedPackage, deploy) {
  describe(`each example on a fresh ${nodeRedPackage}`, () => {
    it('lists every example under Import → Examples', async (t) => {
      const nr = await startNodeRed(nodeRedPackage);
      t.after(() => nr.close());
      const listing = await nr.api('GET', `/library/examples/flows/${MODULE}`);
      // Files are listed as { fn } (@node-red/runtime lib/library/examples.js); the editor shows fn as the title.
      assert.deepEqual(listing.map((e) => e.fn).sort(), EXAMPLES);
      for (const title of EXAMPLES) assert.match(title, /^[A-Z][a-z]* [^_]+$/, 'a readable title, not a file slug');
    });

    it('every example brings the same gateway and cameras (same ids and content), keep-warm on', async (t) => {
      const nr = await startNodeRed(nodeRedPackage);
      t.after(() => nr.close());
      /** @type {Map<string, string>} */
      const configs = new Map();
      for (const name of EXAMPLES) {
        const flow = await nr.api('GET', `/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);
        const ours = flow.filter((n) => n.type === 'camgate-gateway' || n.type === 'camgate-camera');
        assert.deepEqual(
          ours.map((n) => n.id).sort(),
          ['camgate-example-front-door', 'camgate-example-garden', 'camgate-example-gateway'],
          name,
        );
        for (const n of ours) {
          if (!configs.has(n.id)) configs.set(n.id, JSON.stringify(n));
          // Node-RED's import reuses a config node of the same id only if nothing differs (compareNodes).
          assert.equal(JSON.stringify(n), configs.get(n.id), `${n.id} in "${name}" is identical to the others`);
        }
        const gw = ours.find((n) => n.type === 'camgate-gateway');
        assert.equal(gw.keepWarm, true, `${name}: keepWarm written out`);
        // Every camera is used by a node of the flow (counted by the editor, exported with the flow).
        for (const cam of ours.filter((n) => n.type === 'camgate-camera'))
          assert.ok(
            flow.some((n) => n.z && Object.values(n).includes(cam.id)),
            `${name}: a flow node uses ${cam.id}`,
          );
        // A Will topic naming a gateway id would go stale when the user changes the id.
        for (const b of flow.filter((n) => n.type === 'mqtt-broker'))
          for (const k of ['willTopic', 'closeTopic', 'birthTopic'])
            assert.ok(!String(b[k] ?? '').includes(gw.gatewayId), `${name}: ${k} does not hard-code the gateway id`);
      }
    });

    for (const name of EXAMPLES) {
      it(`deploys "${name}" with no node errors`, async (t) => {
        const nr = await startNodeRed(nodeRedPackage);
        t.after(() => nr.close());
        const nodes = await nr.api('GET', '/nodes', undefined, { accept: 'application/json' });
        assert.deepEqual(
          [...new Set(nodes.map((s) => s.module))].filter((m) => m !== 'node-red').sort(),
          [MODULE],
          'only this package is installed',
        );
        const flow = await nr.api('GET', `/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);
        assert.ok(Array.isArray(flow) && flow.length > 0, 'the example is served as a flow');
        const logs = await deploy(nr, flow);
        // Started, or stuck on a type no installed package provides (Node-RED logs that as a warning only).
        while (!/Started (modified )?flows|Waiting for missing types/.test(logs())) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const lines = logs().split('\n');
        assert.deepEqual(
          lines.filter((l) => /\[error\]|missing types|Unknown type/i.test(l)),
          [],
        );
        const deployed = await nr.api('GET', '/flows').catch((err) => {
          // Say why: Node-RED's own log (it may have exited).
          throw new Error(
            `${err.message} (${err.cause?.code ?? err.cause}); Node-RED log since the deploy:\n${logs()}`,
            {
              cause: err,
            },
          );
        });
        assert.equal(deployed.flows.length, flow.length);
        const gateways = deployed.flows.filter((n) => n.type === 'camgate-gateway');
        assert.deepEqual(
          gateways.map((n) => [n.id, n.keepWarm]),
          [['camgate-example-gateway', true]],
          'one gateway, deployed with keep-warm on',
        );
        // Every node of the example is running: none reported as a placeholder for an unknown type.
        const types = new Set(nodes.flatMap((s) => s.types));
        for (const n of flow) if (n.type !== 'tab') assert.ok(types.has(n.type), `node type ${n.type} is installed`);
      });
    }
  });
}

module.exports = { defineExampleTests };
