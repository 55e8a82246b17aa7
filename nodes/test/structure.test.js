'use strict';
/**
 * Node-RED idioms the package keeps: a node file never requires another node file (Node-RED loads each one as
 * its own node set; shared code lives in lib/), and the gateway runtime emits no event that no node listens to.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const nodeFiles = fs.readdirSync(path.join(ROOT, 'nodes')).filter((f) => f.endsWith('.js'));
const read = (p) => fs.readFileSync(path.join(ROOT, p), 'utf8');

describe('node-red-contrib-camgate layout', () => {
  it('no node file requires another node file; shared code comes from lib/', () => {
    const bad = [];
    for (const f of nodeFiles) {
      for (const m of read(`nodes/${f}`).matchAll(/require\(\s*'([^']+)'\s*\)/g)) {
        const ok = m[1].startsWith('../lib/') || m[1] === '../package.json' || !m[1].startsWith('.');
        if (!ok) bad.push(`${f}: ${m[1]}`);
      }
    }
    assert.deepEqual(bad, []);
    assert.ok(nodeFiles.length >= 7, 'found the node files');
  });

  it('every event the gateway runtime emits has a listener in a node file', () => {
    const emitted = new Set([...read('lib/gateway-runtime.js').matchAll(/this\.emit\(\s*'([^']+)'/g)].map((m) => m[1]));
    assert.ok(emitted.size >= 4, `found the runtime's events (${[...emitted]})`);
    const listened = new Set(
      nodeFiles.flatMap((f) => [...read(`nodes/${f}`).matchAll(/runtime\.on\(\s*'([^']+)'/g)].map((m) => m[1])),
    );
    assert.deepEqual(
      [...emitted].filter((e) => !listened.has(e)),
      [],
    );
  });
});
