'use strict';
/**
 * Issue 5, "Each one deploys without errors on a fresh Node-RED with only this
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
      // Files are listed as { fn } (@node-red/runtime lib/library/examples.js).
      assert.deepEqual(listing.map((e) => e.fn).sort(), EXAMPLES);
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
        const flow = await nr.api('GET', `/library/examples/flows/${MODULE}/${name}`);
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
        const deployed = await nr.api('GET', '/flows');
        assert.equal(deployed.flows.length, flow.length);
        // Every node of the example is running: none reported as a placeholder for an unknown type.
        const types = new Set(nodes.flatMap((s) => s.types));
        for (const n of flow) if (n.type !== 'tab') assert.ok(types.has(n.type), `node type ${n.type} is installed`);
      });
    }
  });
}

module.exports = { defineExampleTests };
