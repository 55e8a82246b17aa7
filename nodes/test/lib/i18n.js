'use strict';
/**
 * node-red-node-test-helper hands nodes a `RED._` that returns the key unchanged. These wrappers give each node
 * module Node-RED's own message lookup instead (@node-red/util's i18n, with this package's catalogs registered
 * under the namespaces Node-RED's registry uses, `module/set`), so the helper tests see the texts users see and a
 * key missing from a catalog shows up as the key in an assertion.
 */
const path = require('node:path');

const MODULE = 'node-red-contrib-camgate';
const LOCALES = path.resolve(__dirname, '../../nodes/locales');

/**
 * The node modules of `sets` (node file name → module), each wrapped to get a translating `RED._`.
 * @param {string} nodeRedPackage  'node-red' or 'node-red-4'
 * @param {Record<string, (RED: object) => void>} sets
 */
async function translatedNodes(nodeRedPackage, sets) {
  const { i18n } = require(require.resolve('@node-red/util', { paths: [require.resolve(nodeRedPackage)] }));
  await i18n.init({ lang: 'en-US' });
  const out = [];
  for (const [set, mod] of Object.entries(sets)) {
    // Every catalog, also the ones our statuses name by absolute key from another node file.
    await i18n.registerMessageCatalog(`${MODULE}/${set}`, LOCALES, `${set}.json`);
    const ns = `${MODULE}/${set}`;
    /** Relative keys belong to the node file's own catalog, as in @node-red/registry's createNodeApi. */
    const _ = (key, opts) => i18n._(key.includes(':') ? key : `${ns}:${key}`, opts);
    out.push((RED) => mod(new Proxy(RED, { get: (target, prop) => (prop === '_' ? _ : target[prop]) })));
  }
  return out;
}

module.exports = { translatedNodes };
