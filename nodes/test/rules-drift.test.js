'use strict';
/**
 * The Node-RED runtime (lib/validate.js) and the editor (the `*_RE` constants in the node HTML) check config
 * values before @camgate/core ever sees them. They cannot import core (the editor runs in the browser, the
 * runtime checks synchronously while core is ESM), so they keep a copy; this test pins every copy to core's
 * CONFIG_PATTERNS and fails on drift.
 */
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const validate = require('../lib/validate.js');

/** `const NAME = /source/flags;` lines of an editor HTML file. */
function editorConstants(file) {
  const html = readFileSync(join(__dirname, '..', 'nodes', file), 'utf8');
  const out = {};
  for (const m of html.matchAll(/const ([A-Z0-9_]+) = \/(.+)\/([a-z]*);/g)) out[m[1]] = new RegExp(m[2], m[3]);
  return out;
}

const same = (a, b) => a.source === b.source && a.flags === b.flags;

describe('config rules in the Node-RED package', () => {
  let P;
  before(async () => {
    ({ CONFIG_PATTERNS: P } = await import('@camgate/core'));
  });

  it('lib/validate.js uses core’s id, RTSP URL, ws URL and fingerprint rules', () => {
    assert.ok(same(validate.ID_RE, P.id), `ID_RE ${validate.ID_RE} vs core ${P.id}`);
    assert.ok(same(validate.RTSP_RE, P.rtspUrl), `RTSP_RE ${validate.RTSP_RE} vs core ${P.rtspUrl}`);
    assert.ok(same(validate.WS_RE, P.wsUrl), `WS_RE ${validate.WS_RE} vs core ${P.wsUrl}`);
    assert.ok(same(validate.FINGERPRINT_RE, P.fingerprint256), 'FINGERPRINT_RE vs core fingerprint256');
  });

  it('the editor’s camera and gateway validators use the same rules', () => {
    const cam = editorConstants('camgate-camera.html');
    assert.ok(same(cam.ID_RE, P.id), `camgate-camera.html ID_RE ${cam.ID_RE}`);
    assert.ok(same(cam.RTSP_RE, P.rtspUrl), `camgate-camera.html RTSP_RE ${cam.RTSP_RE}`);
    const gw = editorConstants('camgate-gateway.html');
    assert.ok(same(gw.ID_RE, P.id), `camgate-gateway.html ID_RE ${gw.ID_RE}`);
    assert.ok(same(gw.WS_RE, P.wsUrl), `camgate-gateway.html WS_RE ${gw.WS_RE}`);
    assert.ok(same(gw.FP_RE, P.fingerprint256), `camgate-gateway.html FP_RE ${gw.FP_RE}`);
  });

  it('the flags node’s camera filter uses the id rule', () => {
    const html = readFileSync(join(__dirname, '..', 'nodes', 'camgate-flags.html'), 'utf8');
    assert.ok(html.includes(`/${P.id.source}/${P.id.flags}.test(v)`), 'camgate-flags.html cameraId validator');
  });

  it('the flags node’s kind list is core’s FLAG_KINDS (plus "all")', async () => {
    const { FLAG_KINDS } = await import('@camgate/core');
    const html = readFileSync(join(__dirname, '..', 'nodes', 'camgate-flags.html'), 'utf8');
    const list = /const KINDS = \[([^\]]*)\];/.exec(html);
    assert.ok(list, 'camgate-flags.html declares const KINDS = [...]');
    const kinds = [...list[1].matchAll(/'([a-z-]+)'/g)].map((m) => m[1]);
    assert.deepEqual(kinds, ['all', ...FLAG_KINDS], 'a new flag kind must be offered in the flags node’s editor');
  });
});
