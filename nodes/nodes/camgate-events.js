'use strict';

/** Event types camgate-events can emit (documented in the help text). */
const EVENT_TYPES = ['tunnel', 'viewing', 'channel', 'refused', 'released'];

/**
 * camgate-events: one message per gateway event. `msg.payload` is
 * `{ type, gatewayId, at, ... }` — see locales/en-US/camgate-events.html for
 * the fields of each type. Nothing in it comes from a camera's credentials.
 */
module.exports = function (RED) {
  function CamgateEventsNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.gateway = RED.nodes.getNode(n.gateway);
    const types = new Set(
      Array.isArray(n.types) && n.types.length ? n.types.filter((t) => EVENT_TYPES.includes(t)) : EVENT_TYPES,
    );
    if (!node.gateway || !node.gateway.runtime) {
      node.status({ fill: 'red', shape: 'ring', text: 'no gateway' });
      node.error('camgate-events: choose a camgate-gateway');
      return;
    }
    const runtime = node.gateway.runtime;
    const onEvent = (e) => {
      if (!types.has(e.type)) return;
      node.send({
        topic: `camgate/${runtime.gatewayId}/${e.type}`,
        payload: { ...e, gatewayId: runtime.gatewayId, at: new Date().toISOString() },
      });
    };
    runtime.on('event', onEvent);
    node.gateway.register(node);
    node.on('close', (removed, done) => {
      runtime.off('event', onEvent);
      node.gateway.deregister(node);
      done();
    });
  }
  RED.nodes.registerType('camgate-events', CamgateEventsNode);
};

module.exports.EVENT_TYPES = EVENT_TYPES;
