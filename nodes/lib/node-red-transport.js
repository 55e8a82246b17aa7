'use strict';
const { EventEmitter } = require('node:events');

/**
 * While the broker node has no live client (its "disconnect" control action, or autoConnect off), how often
 * to look for the one it creates next, ms. Node-RED's broker node announces a new client to nobody (its
 * users only get a status text), so this is the one thing not learnt from an event.
 */
const CLIENT_LOOKUP_MS = 1_000; // 1 s

/** @typedef {import('@camgate/core').MqttTransport} MqttTransport */

/**
 * An MqttTransport (core docs/mqtt.md, "Transports") over a Node-RED `mqtt-broker` config node, so the core
 * MqttBridge publishes through the connection the user already configured. Uses only the broker node's
 * public face, as Node-RED's own mqtt nodes do (core 10-mqtt.js): `register`/`deregister` (the first user
 * makes it connect when autoConnect is on), `publish(msg, done)`, `connected`, and its mqtt.js `client`,
 * whose `connect`/`close`/`end` events tell when a session starts and ends. The broker node owns the
 * connection, its reconnects and its will.
 * @implements {MqttTransport}
 */
class NodeRedBrokerTransport extends EventEmitter {
  /**
   * @param {{ node: import('./types').Node, broker: import('./types').MqttBrokerNode }} o  the camgate-mqtt-bridge
   *   node (a user of the broker) and the mqtt-broker config node
   */
  constructor(o) {
    super();
    this.node = o.node;
    this.broker = o.broker;
    /** Passed to `deregister` on close: Node-RED's `removed` (the broker disconnects when its last user goes). */
    this.removed = false;
    this.label = `node-red mqtt-broker ${String(o.broker.id)}`;
    /** @type {import('./types').MqttClientLike | null | undefined} */
    this.client = undefined;
    this.isConnected = false;
    this.closed = false;
    /** @type {NodeJS.Timeout | undefined} */
    this.lookup = undefined;
    this.onConnect = () => this.up();
    this.onClose = () => this.down();
    this.onEnd = () => {
      this.down();
      // The broker node replaces its client on connect (10-mqtt.js `connect`: end the old, create a new one).
      setImmediate(() => this.follow());
    };
  }

  get connected() {
    return this.isConnected;
  }

  /**
   * The broker node's will (its "Message on unexpected disconnect"), as its connect options carry it.
   * @returns {import('@camgate/core').MqttWill | undefined}
   */
  get will() {
    const w = this.broker.options?.will;
    if (!w || typeof w.topic !== 'string' || w.topic === '') return undefined;
    return { topic: w.topic, payload: String(w.payload ?? ''), qos: Number(w.qos) === 1 ? 1 : 0, retain: !!w.retain };
  }

  start() {
    if (this.closed) return;
    this.broker.register(this.node);
    this.follow();
  }

  /** Listens to the broker node's current client; a session already up counts as a connect. */
  follow() {
    if (this.closed) return;
    const client = this.broker.client;
    if (client !== this.client) {
      this.unfollow();
      this.client = client;
      if (client) {
        client.on('connect', this.onConnect);
        client.on('close', this.onClose);
        client.on('end', this.onEnd);
      }
    }
    clearInterval(this.lookup);
    this.lookup = undefined;
    if (this.broker.connected && client?.connected) this.up();
    else if (!client || client.disconnecting || client.disconnected) {
      this.lookup = setInterval(() => this.broker.client !== this.client && this.follow(), CLIENT_LOOKUP_MS);
      this.lookup.unref();
    }
  }

  unfollow() {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    c.off('connect', this.onConnect);
    c.off('close', this.onClose);
    c.off('end', this.onEnd);
  }

  up() {
    // The broker node's own `connect` listener ran first (it attached first), so `broker.connected` is set.
    if (this.closed || this.isConnected || !this.broker.connected) return;
    this.isConnected = true;
    this.emit('connect');
  }

  down() {
    if (!this.isConnected) return;
    this.isConnected = false;
    if (!this.closed) this.emit('disconnect');
  }

  /**
   * Resolves when the broker acknowledged (QoS 1); the broker node calls `done` from mqtt.js's callback.
   * @param {string} topic
   * @param {string} payload
   * @param {import('@camgate/core').MqttPublishOptions} opts
   * @returns {Promise<void>}
   */
  publish(topic, payload, opts) {
    return /** @type {Promise<void>} */ (
      new Promise((resolve, reject) => {
        // broker.publish drops a message silently (and never calls done) while disconnected.
        if (!this.isConnected || !this.broker.connected) return reject(new Error('not connected'));
        this.broker.publish({ topic, payload, qos: opts.qos, retain: opts.retain }, (err) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        );
      })
    );
  }

  /**
   * Leaves the broker node (which stays connected for its other users).
   * @returns {Promise<void>}
   */
  close() {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.isConnected = false;
    clearInterval(this.lookup);
    this.unfollow();
    return /** @type {Promise<void>} */ (
      new Promise((resolve) => this.broker.deregister(this.node, () => resolve(), this.removed))
    );
  }
}

module.exports = { NodeRedBrokerTransport };
