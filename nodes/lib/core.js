'use strict';
/**
 * @camgate/core is ESM; Node-RED 4.1 loads node files with require(). One
 * dynamic import, shared by every node, works on Node-RED 4.1 and 5 alike.
 */
let pending;

/** Resolves to the public face of @camgate/core (never a file inside it). */
function loadCore() {
  pending ??= import('@camgate/core');
  return pending;
}

module.exports = { loadCore };
