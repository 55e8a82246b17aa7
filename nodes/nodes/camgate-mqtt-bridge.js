'use strict';
const { loadCore } = require('../lib/core.js');
const { NodeRedBrokerTransport } = require('../lib/node-red-transport.js');

/** One MQTT topic level or a prefix of levels: no wildcards, no control characters (MQTT 3.1.1 §4.7). */
// eslint-disable-next-line no-control-regex
const TOPIC_PREFIX_RE = /^(?!\$)[^/+#\u0000-\u001f\u007f]{1,128}(\/[^/+#\u0000-\u001f\u007f]{1,128})*$/;

/** @param {unknown} err */
const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/**
 * @typedef {((state: string) => void) | ((c: import('../lib/types').CameraState) => void)} RuntimeListener
 */

/**
 * camgate-mqtt-bridge: publishes the gateway's flags, exposure summaries, availability and Home Assistant
 * discovery to MQTT through the library's MqttBridge (core docs/mqtt.md) — the one implementation. With a
 * Node-RED `mqtt-broker` config node the bridge publishes through that connection (NodeRedBrokerTransport);
 * otherwise it connects by itself to its URL, or starts an embedded broker on loopback.
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').GatewayUserNode}
   * @param {import('../lib/types').MqttBridgeNodeDef} n
   */
  function CamgateMqttBridgeNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.gateway = /** @type {import('../lib/types').GatewayNode | null} */ (RED.nodes.getNode(n.gateway ?? ''));
    const baseTopic = n.baseTopic || 'camgate';
    const discoveryPrefix = n.discoveryPrefix || 'homeassistant';
    const homeAssistant = n.homeAssistant !== false;
    if (!node.gateway || !node.gateway.runtime) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-mqtt-bridge.status.no-gateway') });
      node.error(RED._('camgate-mqtt-bridge.errors.no-gateway'));
      return;
    }
    for (const [name, value] of /** @type {[string, string][]} */ ([
      ['baseTopic', baseTopic],
      ['discoveryPrefix', discoveryPrefix],
    ])) {
      if (!TOPIC_PREFIX_RE.test(value)) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-mqtt-bridge.status.bad-option', { name }) });
        node.error(
          RED._('camgate-mqtt-bridge.errors.bad-prefix', { name, value: JSON.stringify(String(value).slice(0, 64)) }),
        );
        return;
      }
    }
    const runtime = node.gateway.runtime;
    const brokerNode = n.broker
      ? /** @type {import('../lib/types').MqttBrokerNode | null} */ (RED.nodes.getNode(n.broker))
      : undefined;
    const transport =
      brokerNode && typeof brokerNode.register === 'function'
        ? new NodeRedBrokerTransport({ node, broker: brokerNode })
        : undefined;
    const creds = node.credentials || {};
    /** @type {import('@camgate/core').MqttBridge | undefined} */
    let bridge;
    let closed = false;
    /** @type {[string, RuntimeListener][]} */
    const listeners = [];
    /**
     * @param {string} event
     * @param {RuntimeListener} fn
     */
    const listen = (event, fn) => {
      runtime.on(event, fn);
      listeners.push([event, fn]);
    };
    node.status({ fill: 'yellow', shape: 'ring', text: RED._('camgate-mqtt-bridge.status.connecting') });

    const started = (async () => {
      const core = await loadCore();
      await runtime.ready;
      if (closed) return;
      if (!runtime.store)
        throw new Error(
          RED._('camgate-mqtt-bridge.errors.not-running', { id: runtime.gatewayId, state: runtime.state }),
        );
      const connection = transport
        ? { transport }
        : {
            url: n.url || undefined,
            username: creds.username || undefined,
            password: creds.password || undefined,
            allowInsecure: n.allowInsecure === true,
          };
      const b = await core.MqttBridge.start({
        ...connection,
        baseTopic,
        discoveryPrefix,
        homeAssistant,
        gatewayId: runtime.gatewayId,
        cameras: runtime.cameras,
        store: runtime.store,
        // `status` is the hub tunnel's availability: online only while it is connected and accepted.
        initialStatus: runtime.state === 'connected' ? 'online' : 'offline',
        logger: runtime.logger?.child('mqtt'),
      });
      bridge = b;
      if (closed) return b.close();
      const will = transport?.will;
      if (transport && (!will || will.topic !== b.topics.bridge || will.payload !== 'offline' || !will.retain)) {
        node.warn(RED._('camgate-mqtt-bridge.warn.will', { topic: b.topics.bridge }));
      }
      listen('status', (/** @type {string} */ state) => {
        void b
          .publishStatus(state === 'connected' ? 'online' : 'offline')
          .catch((/** @type {unknown} */ err) => node.warn(messageOf(err)));
      });
      // Camera states (core docs/mqtt.md "Camera state"): what is known now, then every change.
      /** @param {import('../lib/types').CameraState} c */
      const onCameraState = (c) =>
        void b.publishCameraState(c).catch((/** @type {unknown} */ err) => node.warn(messageOf(err)));
      for (const c of runtime.cameraStates.values()) onCameraState(c);
      listen('cameraState', onCameraState);
      const published = () => {
        node.status({ fill: 'green', shape: 'dot', text: RED._('camgate-mqtt-bridge.status.connected') });
        // The runtime tests (test/lib/mqtt-suite.js) wait on this for a republish after a reconnect.
        node.emit('camgate:published');
      };
      b.on('connected', published);
      b.on('offline', () =>
        node.status({ fill: 'yellow', shape: 'ring', text: RED._('camgate-mqtt-bridge.status.reconnecting') }),
      );
      b.on('error', (/** @type {import('@camgate/core').CamgateError} */ err) => {
        node.status({ fill: 'red', shape: 'ring', text: err.code });
        node.warn(err.message);
      });
    })().catch((/** @type {unknown} */ err) => {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-mqtt-bridge.status.failed') });
      node.error(RED._('camgate-mqtt-bridge.errors.failed', { message: messageOf(err) }));
    });

    node.on('close', (removed, done) => {
      closed = true;
      if (transport) transport.removed = removed === true;
      (async () => {
        await started;
        for (const [event, fn] of listeners) runtime.off(event, fn);
        // Publishes `status` and `bridge` offline (bounded wait), then leaves the broker node or disconnects.
        await bridge?.close();
        await transport?.close();
      })().then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('camgate-mqtt-bridge', CamgateMqttBridgeNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
