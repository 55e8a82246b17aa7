'use strict';
const { loadCore } = require('./core.js');

const CONNECTED_TEXT = 'node-red:common.status.connected';
/** Wait for the `offline` status on close before letting Node-RED go on, ms. */
const CLOSE_PUBLISH_TIMEOUT_MS = 2_000; // 2 s, the library's closeTimeoutMs

/**
 * Publishes what MqttBridge publishes (alerts/docs/mqtt.md: status, flags,
 * per-camera and gateway exposure, Home Assistant discovery; QoS 1,
 * retained) through a Node-RED `mqtt-broker` config node, so a flow reuses
 * the broker connection the user already configured. The broker node owns
 * the connection and its last will; we only publish.
 */
class BrokerPublisher {
  /**
   * @param {object} o
   * @param {object} o.node      the camgate-mqtt-bridge node (a user of the broker)
   * @param {object} o.broker    the mqtt-broker config node
   * @param {object} o.runtime   the GatewayRuntime
   * @param {string} o.baseTopic
   * @param {string} o.discoveryPrefix
   * @param {boolean} o.homeAssistant
   * @param {string} o.swVersion
   */
  constructor(o) {
    this.o = o;
    this.closed = false;
    this.startedAt = new Date().toISOString();
    this.onTransition = (t) => void this.#changed(t.flag).catch((err) => this.#warn(err));
    /** Camera states (core docs/mqtt.md "Camera state"), retained like everything else. */
    this.cameraStates = new Map();
    this.onCameraState = (c) => void this.#cameraState(c).catch((err) => this.#warn(err));
  }

  async start() {
    const { node, broker, runtime } = this.o;
    const core = await loadCore();
    this.core = core;
    this.topics = core.topicsFor(this.o.baseTopic, runtime.gatewayId, this.o.discoveryPrefix);
    await runtime.ready;
    if (this.closed) return;
    // The broker node tells its users about (re)connects only through their
    // status (10-mqtt.js setStatusConnected): watch it to republish the
    // retained state on every connect, as MqttBridge does.
    const status = node.status.bind(node);
    node.status = (s) => {
      status(s);
      if (s && s.text === CONNECTED_TEXT && !this.closed) void this.snapshot().catch((err) => this.#warn(err));
    };
    runtime.on('transition', this.onTransition);
    runtime.on('cameraState', this.onCameraState);
    for (const c of runtime.cameraStates?.values() ?? []) this.cameraStates.set(c.cameraId, c);
    broker.register(node);
    if (broker.connected) await this.snapshot();
  }

  #warn(err) {
    if (!this.closed) this.o.node.warn(`mqtt publish failed: ${err.message ?? err}`);
  }

  /** Publishes when connected; while disconnected the next connect's snapshot covers it. */
  #publish(topic, payload) {
    const broker = this.o.broker;
    if (!broker.connected) return Promise.resolve(false);
    return new Promise((resolve, reject) => {
      broker.publish({ topic, payload, qos: 1, retain: true }, (err) => (err ? reject(err) : resolve(true)));
    });
  }

  #flags() {
    const store = this.o.runtime.store;
    return store ? store.list({ gatewayId: this.o.runtime.gatewayId }) : [];
  }

  #summaries(all, cameraIds) {
    const out = cameraIds.map((cam) =>
      this.#publish(
        this.topics.exposure(cam),
        JSON.stringify(
          this.core.exposureOf(
            all.filter((f) => f.cameraId === cam),
            this.startedAt,
          ),
        ),
      ),
    );
    out.push(this.#publish(this.topics.gatewayExposure, JSON.stringify(this.core.exposureOf(all, this.startedAt))));
    return out;
  }

  async #changed(flag) {
    if (flag.gatewayId !== this.o.runtime.gatewayId) return;
    const all = this.#flags();
    const current = all.find((f) => f.id === flag.id) ?? flag;
    const cams = flag.cameraId !== undefined ? [flag.cameraId] : [];
    await Promise.all([
      this.#publish(this.topics.flag(flag.id), JSON.stringify(current)),
      ...this.#summaries(all, cams),
    ]);
  }

  #cameraState(c) {
    const payload = this.core.cameraStatePayload(c, new Date().toISOString());
    this.cameraStates.set(c.cameraId, { ...c, payload });
    if (!this.topics) return Promise.resolve(); // not started yet: the first snapshot publishes it
    return Promise.all(this.#cameraStatePublishes(c.cameraId, payload));
  }

  #cameraStatePublishes(cameraId, payload) {
    const t = this.core.cameraStateTopics(this.topics, cameraId);
    return [
      this.#publish(t.state, JSON.stringify(payload)),
      this.#publish(t.availability, this.core.cameraAvailability({ cameraId, ...payload })),
    ];
  }

  /** Everything, as MqttBridge does on every connect. */
  async snapshot() {
    const { runtime } = this.o;
    const all = this.#flags();
    const pending = [this.#publish(this.topics.status, 'online')];
    if (this.o.homeAssistant) {
      for (const camera of runtime.cameras) {
        const d = this.core.binarySensorDiscovery({
          topics: this.topics,
          gatewayId: runtime.gatewayId,
          gatewayName: `camgate ${runtime.gatewayId}`,
          camera,
          swVersion: this.o.swVersion,
        });
        pending.push(this.#publish(d.topic, JSON.stringify(d.config)));
        const c = this.core.connectivityDiscovery({
          topics: this.topics,
          discoveryPrefix: this.o.discoveryPrefix,
          gatewayId: runtime.gatewayId,
          camera,
          device: d.config.device,
          swVersion: this.o.swVersion,
        });
        pending.push(this.#publish(c.topic, JSON.stringify(c.config)));
      }
    }
    for (const [id, c] of this.cameraStates) {
      const payload = c.payload ?? this.core.cameraStatePayload(c, new Date().toISOString());
      pending.push(...this.#cameraStatePublishes(id, payload));
    }
    for (const f of all) pending.push(this.#publish(this.topics.flag(f.id), JSON.stringify(f)));
    const cams = new Set(runtime.cameras.map((c) => c.id));
    for (const f of all) if (f.cameraId !== undefined) cams.add(f.cameraId);
    pending.push(...this.#summaries(all, [...cams]));
    await Promise.all(pending);
    this.o.node.emit('camgate:published');
  }

  /** Publishes `offline` (bounded wait), then leaves the broker. Idempotent. */
  async close(removed) {
    if (this.closed) return;
    this.closed = true;
    const { node, broker, runtime } = this.o;
    runtime.off('transition', this.onTransition);
    runtime.off('cameraState', this.onCameraState);
    if (this.topics && broker.connected) {
      let timer;
      await Promise.race([
        this.#publish(this.topics.status, 'offline').catch(() => undefined),
        new Promise((r) => (timer = setTimeout(r, CLOSE_PUBLISH_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
    }
    await new Promise((resolve) => broker.deregister(node, resolve, removed));
  }
}

module.exports = { BrokerPublisher };
