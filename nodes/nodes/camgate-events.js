'use strict';
const { cameraStatus } = require('../lib/status.js');

/** Event types camgate-events can emit (documented in the help text). */
const EVENT_TYPES = ['tunnel', 'viewing', 'channel', 'refused', 'released', 'camera'];

/**
 * camgate-events: one message per gateway event. `msg.payload` is
 * `{ type, gatewayId, at, ... }` — see locales/en-US/camgate-events.html for
 * the fields of each type. Nothing in it comes from a camera's credentials.
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').GatewayUserNode}
   * @param {import('../lib/types').NodeDef & { gateway?: string, camera?: string, types?: unknown }} n
   */
  function CamgateEventsNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.gateway = /** @type {import('../lib/types').GatewayNode | null} */ (RED.nodes.getNode(n.gateway ?? ''));
    const types = new Set(
      Array.isArray(n.types) && n.types.length ? n.types.filter((t) => EVENT_TYPES.includes(t)) : EVENT_TYPES,
    );
    if (!node.gateway || !node.gateway.runtime) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-events.status.noGateway') });
      node.error(RED._('camgate-events.errors.noGateway'));
      return;
    }
    const runtime = node.gateway.runtime;
    // With a camera chosen, the node shows that camera's state instead of the tunnel's, and its camera
    // events only (a config node such as camgate-camera has no status of its own in the editor).
    const cam = n.camera
      ? /** @type {import('../lib/types').CameraNode | null} */ (RED.nodes.getNode(n.camera))
      : undefined;
    const cameraId = cam?.cameraId;
    /** @param {{ type: string, cameraId?: string }} e */
    const onEvent = (e) => {
      if (!types.has(e.type)) return;
      if (e.type === 'camera' && cameraId && e.cameraId !== cameraId) return;
      node.send({
        topic: `camgate/${runtime.gatewayId}/${e.type}`,
        payload: { ...e, gatewayId: runtime.gatewayId, at: new Date().toISOString() },
      });
    };
    runtime.on('event', onEvent);
    if (cameraId) {
      /** @param {import('../lib/types').CameraState} c */
      const onCamera = (c) => {
        if (c.cameraId === cameraId) node.status(cameraStatus(RED._, c));
      };
      node.status(cameraStatus(RED._, runtime.cameraStates.get(cameraId)));
      runtime.on('cameraState', onCamera);
      node.on('close', (removed, done) => {
        runtime.off('event', onEvent);
        runtime.off('cameraState', onCamera);
        done();
      });
      return;
    }
    const gateway = node.gateway;
    gateway.register(node);
    node.on('close', (removed, done) => {
      runtime.off('event', onEvent);
      gateway.deregister(node);
      done();
    });
  }
  RED.nodes.registerType('camgate-events', CamgateEventsNode);
};

module.exports.EVENT_TYPES = EVENT_TYPES;
