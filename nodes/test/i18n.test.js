'use strict';
/**
 * Runtime texts come from the message catalogs (Node-RED's convention, as its core nodes do): no status or error
 * text is a literal in a node file, and every key the code names exists in `nodes/locales/en-US/<set>.json`.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { gatewayStatus, cameraStatus, exposureStatus } = require('../lib/status.js');
const { STATES } = require('../lib/gateway-runtime.js');

const ROOT = path.resolve(__dirname, '..');
const MODULE = 'node-red-contrib-camgate';
const NODE_FILES = fs
  .readdirSync(path.join(ROOT, 'nodes'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => path.join('nodes', f));
const LIB_FILES = ['lib/status.js', 'lib/validate.js'];

const catalog = (set) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', 'locales', 'en-US', `${set}.json`), 'utf8'));

/** The catalog text of an absolute key `module/set:a.b.c`, or undefined. */
function lookup(key) {
  const m = /^([^:]+)\/([^/:]+):(.+)$/.exec(key);
  if (!m || m[1] !== MODULE) return undefined;
  let v = catalog(m[2]);
  for (const part of m[3].split('.')) v = v?.[part];
  return typeof v === 'string' ? v : undefined;
}

/** Every message key a file names: `RED._('key'…)` and `t(\`${CONST}.key\`…)` with CONST a string constant. */
function keysIn(file) {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const set = path.basename(file, '.js');
  const keys = [];
  for (const m of src.matchAll(/RED\._\(\s*'([^']+)'/g))
    keys.push(m[1].includes(':') ? m[1] : `${MODULE}/${set}:${m[1]}`);
  const consts = Object.fromEntries([...src.matchAll(/const (\w+) = '([^']+)';/g)].map((m) => [m[1], m[2]]));
  for (const m of src.matchAll(/\bt\(`\$\{(\w+)\}\.([\w.]+)`/g)) keys.push(`${consts[m[1]]}.${m[2]}`);
  return keys;
}

/** A translator that fails the test on a missing key and fills `__name__` placeholders like Node-RED's i18n. */
function strictT(key, vars = {}) {
  const text = lookup(key);
  assert.ok(text !== undefined, `message key ${key} is in its catalog`);
  return text.replace(/__(\w+)__/g, (_, k) => {
    assert.ok(k in vars, `${key} gets __${k}__`);
    return String(vars[k]);
  });
}

describe('message catalogs of node-red-contrib-camgate', () => {
  it('no node file sets a literal status text or a literal error / warning message', () => {
    const found = [];
    for (const file of [...NODE_FILES, ...LIB_FILES]) {
      const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
      src.split('\n').forEach((line, i) => {
        if (/\btext:\s*['"`]/.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
        if (file.startsWith('nodes/') && /\b(error|warn|Error)\(\s*['"`]/.test(line))
          found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(found, []);
  });

  it('every key the code names is in its catalog', () => {
    const keys = [...NODE_FILES, ...LIB_FILES].flatMap(keysIn);
    assert.ok(keys.length > 40, `found the keys (${keys.length})`);
    const missing = keys.filter((k) => lookup(k) === undefined);
    assert.deepEqual(missing, []);
  });

  it('every status the shared helpers can show resolves to catalog text', () => {
    for (const state of STATES) {
      const s = gatewayStatus(strictT, state, { reason: 'r', nextRetryMs: 1500 });
      assert.ok(s.text && !s.text.includes(MODULE), `${state}: ${s.text}`);
    }
    assert.equal(gatewayStatus(strictT, 'reconnecting', { nextRetryMs: 1500 }).text, 'reconnecting in 2 s');
    for (const state of ['live', 'connecting', 'reconnecting', 'unreachable', 'idle', undefined])
      assert.ok(!cameraStatus(strictT, { state, reason: 'refused' }).text.includes(MODULE));
    assert.equal(cameraStatus(strictT, { state: 'live', notice: { message: 'H.265' } }).text, 'live: H.265');
    const none = { state: 'ok', flags: [] };
    assert.deepEqual(exposureStatus(strictT, none, { audits: 0, failedChecks: 0 }), {
      fill: 'grey',
      shape: 'ring',
      text: 'waiting for the first audit',
    });
    assert.equal(exposureStatus(strictT, none, { audits: 1, failedChecks: 1 }).fill, 'yellow');
    assert.deepEqual(exposureStatus(strictT, none, { audits: 1, failedChecks: 0 }), {
      fill: 'green',
      shape: 'dot',
      text: 'ok',
    });
    assert.equal(
      exposureStatus(strictT, { state: 'exposed', flags: [1, 2] }, { audits: 0, failedChecks: 0 }).text,
      'exposed (2)',
    );
  });
});
