'use strict';
const { loadCore } = require('../lib/core.js');
const { BrokerPublisher } = require('../lib/broker-publisher.js');
const { version } = require('../package.json');

/** One MQTT topic level or a prefix of levels: no wildcards, no control characters (MQTT 3.1.1 §4.7). */
// eslint-disable-next-line no-control-regex
const TOPIC_PREFIX_RE = /^(?!\$)[^/+#\u0000-\u001f\u007f]{1,128}(\/[^/+#\u0000-\u001f\u007f]{1,128})*$/;

/**
 * camgate-mqtt-bridge: publishes the gateway's flags, exposure summaries,
 * status and Home Assistant discovery to MQTT with the library's topics.
 * With a Node-RED `mqtt-broker` config node it publishes through that
 * connection; otherwise it runs the library's MqttBridge with its own broker
 * URL and credentials.
 */
module.exports = function (RED) {
  function CamgateMqttBridgeNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.gateway = RED.nodes.getNode(n.gateway);
    const baseTopic = n.baseTopic || 'camgate';
    const discoveryPrefix = n.discoveryPrefix || 'homeassistant';
    const homeAssistant = n.homeAssistant !== false;
    if (!node.gateway || !node.gateway.runtime) {
      node.status({ fill: 'red', shape: 'ring', text: 'no gateway' });
      node.error('camgate-mqtt-bridge: choose a camgate-gateway');
      return;
    }
    for (const [name, value] of [
      ['baseTopic', baseTopic],
      ['discoveryPrefix', discoveryPrefix],
    ]) {
      if (!TOPIC_PREFIX_RE.test(value)) {
        node.status({ fill: 'red', shape: 'ring', text: `bad ${name}` });
        node.error(
          `${name}: ${JSON.stringify(String(value).slice(0, 64))} is not an MQTT topic prefix (no + # or control characters)`,
        );
        return;
      }
    }
    const runtime = node.gateway.runtime;
    const brokerNode = n.broker ? RED.nodes.getNode(n.broker) : undefined;
    let closer;

    if (brokerNode && typeof brokerNode.register === 'function') {
      const pub = new BrokerPublisher({
        node,
        broker: brokerNode,
        runtime,
        baseTopic,
        discoveryPrefix,
        homeAssistant,
        swVersion: version,
      });
      closer = (removed) => pub.close(removed);
      pub.start().catch((err) => node.error(`camgate-mqtt-bridge: ${err.message}`));
    } else {
      const creds = node.credentials || {};
      let bridge;
      let onCameraState;
      let closed = false;
      node.status({ fill: 'yellow', shape: 'ring', text: 'connecting' });
      const started = (async () => {
        const core = await loadCore();
        await runtime.ready;
        if (closed) return;
        if (!runtime.store) throw new Error(`gateway ${runtime.gatewayId} is not running (${runtime.state})`);
        bridge = await core.MqttBridge.start({
          url: n.url || undefined,
          username: creds.username || undefined,
          password: creds.password || undefined,
          allowInsecure: n.allowInsecure === true,
          baseTopic,
          discoveryPrefix,
          homeAssistant,
          gatewayId: runtime.gatewayId,
          cameras: runtime.cameras,
          store: runtime.store,
          logger: runtime.logger?.child('mqtt'),
        });
        if (closed) return bridge.close();
        // Camera states (core docs/mqtt.md "Camera state"): what is known now, then every change.
        const b = bridge;
        onCameraState = (c) => void b.publishCameraState(c).catch((err) => node.warn(err.message));
        for (const c of runtime.cameraStates.values()) onCameraState(c);
        runtime.on('cameraState', onCameraState);
        bridge.on('connected', () => {
          node.status({ fill: 'green', shape: 'dot', text: 'connected' });
          node.emit('camgate:published');
        });
        bridge.on('offline', () => node.status({ fill: 'yellow', shape: 'ring', text: 'reconnecting' }));
        bridge.on('error', (err) => {
          node.status({ fill: 'red', shape: 'ring', text: err.code });
          node.warn(err.message);
        });
      })().catch((err) => {
        node.status({ fill: 'red', shape: 'ring', text: 'failed' });
        node.error(`camgate-mqtt-bridge: ${err.message}`);
      });
      closer = async () => {
        closed = true;
        await started;
        if (onCameraState) runtime.off('cameraState', onCameraState);
        await bridge?.close();
      };
    }

    node.on('close', (removed, done) => {
      closer(removed).then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('camgate-mqtt-bridge', CamgateMqttBridgeNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
