'use strict';
const { transitionMessage } = require('../lib/flag-messages.js');

/**
 * camgate-flags: one message per flag transition (raised / cleared), from
 * every source that feeds the gateway's flag store (LAN audit, hub monitor).
 * Optional filters by kind and camera id.
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').GatewayUserNode}
   * @param {import('../lib/types').NodeDef & { gateway?: string, kind?: unknown, cameraId?: unknown }} n
   */
  function CamgateFlagsNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.gateway = /** @type {import('../lib/types').GatewayNode | null} */ (RED.nodes.getNode(n.gateway ?? ''));
    const kind = typeof n.kind === 'string' && n.kind !== '' && n.kind !== 'all' ? n.kind : undefined;
    const cameraId = typeof n.cameraId === 'string' && n.cameraId.trim() !== '' ? n.cameraId.trim() : undefined;
    if (!node.gateway || !node.gateway.runtime) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-flags.status.noGateway') });
      node.error(RED._('camgate-flags.errors.noGateway'));
      return;
    }
    const runtime = node.gateway.runtime;
    /** @param {import('../lib/types').FlagTransition} t */
    const onTransition = (t) => {
      if (kind !== undefined && t.flag.kind !== kind) return;
      if (cameraId !== undefined && t.flag.cameraId !== cameraId) return;
      node.send(transitionMessage(t));
    };
    runtime.on('transition', onTransition);
    const gateway = node.gateway;
    gateway.register(node);
    node.on('close', (removed, done) => {
      runtime.off('transition', onTransition);
      gateway.deregister(node);
      done();
    });
  }
  RED.nodes.registerType('camgate-flags', CamgateFlagsNode);
};
