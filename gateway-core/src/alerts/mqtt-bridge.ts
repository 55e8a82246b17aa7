import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { CamgateError, defaultLogger, redactString, type Logger } from '../util/index.js';
import type { Flag, FlagTransition } from './flag.js';
import type { FlagStore } from './flag-store.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { binarySensorDiscovery, homeSensorDiscovery } from './ha-discovery.js';
import {
  cameraAvailability,
  cameraStatePayload,
  cameraStateTopics,
  connectivityDiscovery,
  type CameraStateInput,
  type CameraStatePayload,
} from './camera-state-topics.js';
import { assertTopicLevel, exposureOf, homeExposureOf, topicsFor, type Topics } from './topics.js';
import {
  DEFAULT_MQTT_BRIDGE_OPTIONS,
  resolveBridgeOptions,
  type MqttBridgeOptions,
  type ResolvedBridge,
} from './mqtt-options.js';
import type { MqttTransport } from './mqtt-transport.js';
import { MqttClientTransport } from './mqtt-client-transport.js';

const QOS1_RETAINED = { qos: 1, retain: true } as const;

function swVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Publishes the flag store to MQTT as retained state. Nothing is lost while
 * the broker is away: publishes are not queued in the client (whose queue
 * dies with the process); instead every connect — first, reconnect or after
 * a restart — republishes the current state from the store, with the flags
 * that changed while offline last and in the order they changed, so the
 * retained messages always end current. It publishes through an
 * `MqttTransport` (mqtt-transport.ts): its own mqtt.js client by default, or
 * one the caller supplies.
 */
export type { MqttBridgeOptions };

export class MqttBridge extends EventEmitter<{ connected: []; offline: []; error: [CamgateError] }> {
  readonly #o: ResolvedBridge;
  readonly #store: FlagStore;
  readonly #logger: Logger;
  readonly #topics: Topics;
  readonly #transport: MqttTransport;
  readonly #broker: EmbeddedBroker | undefined;
  readonly #startedAt = new Date().toISOString();
  /** Flag ids changed since they were last published, in order of change (Map keeps insertion order). */
  readonly #dirty = new Map<string, number>();
  #seq = 0;
  #status: 'online' | 'offline';
  #connected = false;
  /** Rejects when the current connection closes; publishes race it (see #publish). */
  #lost: Promise<never> = new Promise<never>(() => undefined);
  #loseConnection: (err: Error) => void = () => undefined;
  #lastErrorCode: string | undefined;
  #chain: Promise<void> = Promise.resolve();
  /** Each camera's latest state, republished on every connect. */
  readonly #cameraStates = new Map<string, CameraStatePayload>();
  #state: 'running' | 'closing' | 'closed' = 'running';
  readonly #onTransition = (t: FlagTransition): void => this.#changed(t.flag);
  readonly #onConnect = (): void => this.#connect();
  readonly #onDisconnect = (): void => this.#onClose();
  readonly #onTransportError = (err: Error & { code?: unknown }): void => this.#onError(err);

  /** Where it publishes, without credentials (the embedded broker's URL when none was configured). */
  readonly brokerUrl: string;

  private constructor(
    o: ResolvedBridge,
    store: FlagStore,
    logger: Logger,
    broker: EmbeddedBroker | undefined,
    opts: Pick<MqttBridgeOptions, 'tls' | 'transport'>,
  ) {
    super();
    this.#o = o;
    this.#store = store;
    this.#logger = logger;
    this.#broker = broker;
    this.#status = o.initialStatus;
    this.#topics = topicsFor(o.baseTopic, o.gatewayId, o.discoveryPrefix);
    this.#transport =
      opts.transport ??
      new MqttClientTransport({
        url: o.url ?? broker!.url,
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(opts.tls ? { tls: opts.tls } : {}),
        clientName: o.gatewayId,
        // MQTT 3.1.1 §3.1.2.5: the broker publishes this if the bridge vanishes without DISCONNECT. It is the
        // bridge's own topic, derived from the gateway id: `status` belongs to the hub connection.
        will: { topic: this.#topics.bridge, payload: 'offline', qos: 1, retain: true },
        reconnectMs: o.reconnectMs,
        keepaliveS: DEFAULT_MQTT_BRIDGE_OPTIONS.keepaliveS,
        connectTimeoutMs: DEFAULT_MQTT_BRIDGE_OPTIONS.connectTimeoutMs,
      });
    this.brokerUrl = this.#transport.label;
    const will = this.#transport.will;
    if (will?.topic !== this.#topics.bridge || will.payload !== 'offline' || !will.retain) {
      logger.warn(
        'the MQTT connection has no retained will "offline" on the bridge topic: after a crash Home Assistant keeps showing this gateway available',
        { expected: this.#topics.bridge, will: will?.topic },
      );
    }
    this.#transport.on('connect', this.#onConnect);
    this.#transport.on('disconnect', this.#onDisconnect);
    this.#transport.on('error', this.#onTransportError);
    store.on('transition', this.#onTransition);
    this.#transport.start();
    if (this.#transport.connected) queueMicrotask(() => this.#connect());
  }

  /** Starts the bridge (and the embedded broker when no `url` is given); resolves before the first connect. */
  static async start(opts: MqttBridgeOptions & { store: FlagStore }): Promise<MqttBridge> {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
    if (typeof opts.store?.on !== 'function') throw new TypeError('store must be a FlagStore');
    const o = resolveBridgeOptions(opts);
    const logger = opts.logger ?? defaultLogger('alerts:mqtt');
    const broker =
      o.url === undefined && opts.transport === undefined
        ? await startEmbeddedBroker({ port: opts.embeddedPort ?? 0, logger: logger.child('broker') })
        : undefined;
    const bridge = new MqttBridge(o, opts.store, logger, broker, opts);
    logger.info('mqtt bridge starting', {
      url: bridge.brokerUrl,
      gatewayId: o.gatewayId,
      user: o.username !== undefined,
    });
    return bridge;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The topics this bridge publishes to (for docs, Node-RED and tests). */
  get topics(): Topics {
    return this.#topics;
  }

  /** The current `status` (the hub tunnel's availability, as last set). */
  get status(): 'online' | 'offline' {
    return this.#status;
  }

  /**
   * Sets the retained `status`: `online` only while the gateway's hub tunnel is connected and accepted.
   * Published now when connected, else on the next connect. Repeating the current value publishes nothing.
   */
  async publishStatus(status: 'online' | 'offline'): Promise<void> {
    if (status !== 'online' && status !== 'offline')
      throw new RangeError(`status must be 'online' or 'offline', got ${String(status)}`);
    if (status === this.#status) return;
    this.#status = status;
    if (this.#connected) await this.#enqueue(() => this.#publish(this.#topics.status, status));
  }

  /**
   * A camera's state (Gateway `cameraState`): retained `<camera>/state` JSON and `<camera>/availability`
   * (`online` only while live). Published now when connected, else on the next connect.
   */
  async publishCameraState(s: CameraStateInput): Promise<void> {
    if (typeof s !== 'object' || s === null) throw new TypeError('camera state must be an object');
    assertTopicLevel('cameraId', s.cameraId);
    const payload = cameraStatePayload(s, new Date().toISOString());
    this.#cameraStates.set(s.cameraId, payload);
    if (this.#connected)
      await this.#enqueue(() => Promise.all(this.#cameraState(s.cameraId, payload)).then(() => undefined));
  }

  #cameraState(cameraId: string, payload: CameraStatePayload): Promise<void>[] {
    const t = cameraStateTopics(this.#topics, cameraId);
    return [
      this.#publish(t.state, JSON.stringify(payload)),
      this.#publish(t.availability, cameraAvailability({ cameraId, ...payload })),
    ];
  }

  /** Serialises publishing batches so the broker sees them in the order they were decided. */
  #enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn);
    this.#chain = next.catch((err: unknown) =>
      this.#logger.debug('publish batch failed; republished on reconnect', { error: err }),
    );
    return next;
  }

  async #publish(topic: string, payload: string): Promise<void> {
    // A QoS 1 publish whose connection drops may never settle (a restarted broker without persistence never
    // acknowledges it), and one unsettled publish would stall the batch chain and with it every later
    // republish. So a publish also ends when its connection does; the next connect's snapshot republishes
    // the whole retained state anyway.
    if (!this.#connected) throw new CamgateError('CAMGATE_MQTT', 'MQTT: not connected');
    const sent = this.#transport.publish(topic, payload, QOS1_RETAINED);
    sent.catch(() => undefined); // settled or not, the race below decides
    await Promise.race([sent, this.#lost]);
  }

  #changed(flag: Flag): void {
    if (flag.gatewayId !== this.#o.gatewayId) return;
    this.#dirty.delete(flag.id);
    this.#dirty.set(flag.id, ++this.#seq);
    if (this.#connected) void this.#enqueue(() => this.#flushDirty()).catch(() => undefined);
  }

  #cameraIds(flags: Flag[]): string[] {
    const ids = new Set(this.#o.cameras.map((c) => c.id));
    for (const f of flags) {
      if (f.cameraId === undefined || ids.has(f.cameraId)) continue;
      try {
        ids.add(assertTopicLevel('cameraId', f.cameraId));
      } catch {
        this.#logger.warn('flag camera id is not a valid topic level; no exposure topic for it', { flag: f.id });
      }
    }
    return [...ids];
  }

  /** Publishes the dirty flags (in change order) and the summaries they affect. */
  async #flushDirty(): Promise<void> {
    if (this.#dirty.size === 0 || !this.#connected) return;
    const taken = [...this.#dirty];
    const ids = taken.map(([id]) => id);
    const all = this.#store.list({ gatewayId: this.#o.gatewayId });
    const byId = new Map(all.map((f) => [f.id, f]));
    const pending: Promise<void>[] = [];
    const cams = new Set<string>();
    // A flag of the whole home (e.g. the hub found a camera port open on its public address, but cannot tell
    // which camera answers) puts every camera of that home at risk: every camera's sensor must show it.
    let homeWide = false;
    for (const id of ids) {
      const f = byId.get(id);
      if (!f) continue;
      pending.push(this.#publish(this.#topics.flag(id), JSON.stringify(f)));
      if (f.cameraId !== undefined) cams.add(f.cameraId);
      else homeWide = true;
    }
    pending.push(
      ...this.#summaries(
        all,
        this.#cameraIds(all).filter((c) => homeWide || cams.has(c)),
      ),
    );
    await Promise.all(pending);
    this.#settle(taken);
  }

  /** Forgets what was published, unless the flag changed again meanwhile (then it is published again). */
  #settle(taken: [string, number][]): void {
    for (const [id, seq] of taken) if (this.#dirty.get(id) === seq) this.#dirty.delete(id);
  }

  #summaries(all: Flag[], cameraIds: string[]): Promise<void>[] {
    const out = cameraIds.map((cam) =>
      this.#publish(
        this.#topics.exposure(cam),
        JSON.stringify(
          exposureOf(
            all.filter((f) => f.cameraId === cam || f.cameraId === undefined),
            this.#startedAt,
          ),
        ),
      ),
    );
    out.push(this.#publish(this.#topics.gatewayExposure, JSON.stringify(exposureOf(all, this.#startedAt))));
    out.push(this.#publish(this.#topics.homeExposure, JSON.stringify(homeExposureOf(all, this.#startedAt))));
    return out;
  }

  /** Everything, on every connect: status, discovery, unchanged flags, changed flags in order, summaries. */
  async #snapshot(): Promise<void> {
    const all = this.#store.list({ gatewayId: this.#o.gatewayId });
    const taken = [...this.#dirty];
    const changed = taken.map(([id]) => id);
    const pending: Promise<void>[] = [
      this.#publish(this.#topics.bridge, 'online'),
      this.#publish(this.#topics.status, this.#status),
    ];
    if (this.#o.homeAssistant) {
      const base = { topics: this.#topics, gatewayId: this.#o.gatewayId, gatewayName: this.#o.gatewayName };
      const home = homeSensorDiscovery({ ...base, swVersion: swVersion() });
      pending.push(this.#publish(home.topic, JSON.stringify(home.config)));
      for (const camera of this.#o.cameras) {
        const d = binarySensorDiscovery({ ...base, camera, swVersion: swVersion() });
        pending.push(this.#publish(d.topic, JSON.stringify(d.config)));
        const c = connectivityDiscovery({
          topics: this.#topics,
          discoveryPrefix: this.#o.discoveryPrefix,
          gatewayId: this.#o.gatewayId,
          camera,
          device: d.config.device,
          swVersion: swVersion(),
        });
        pending.push(this.#publish(c.topic, JSON.stringify(c.config)));
      }
    }
    for (const [id, payload] of this.#cameraStates) pending.push(...this.#cameraState(id, payload));
    const byId = new Map(all.map((f) => [f.id, f]));
    for (const f of all)
      if (!this.#dirty.has(f.id)) pending.push(this.#publish(this.#topics.flag(f.id), JSON.stringify(f)));
    for (const id of changed) {
      const f = byId.get(id);
      if (f) pending.push(this.#publish(this.#topics.flag(id), JSON.stringify(f)));
    }
    pending.push(...this.#summaries(all, this.#cameraIds(all)));
    await Promise.all(pending);
    this.#settle(taken);
    this.#logger.debug('mqtt state republished', { flags: all.length, changed: changed.length });
  }

  #connect(): void {
    if (this.#state !== 'running' || this.#connected) return;
    this.#lost = new Promise<never>((_, reject) => (this.#loseConnection = reject));
    this.#lost.catch(() => undefined);
    this.#connected = true;
    this.#lastErrorCode = undefined;
    this.#logger.info('mqtt connected', { url: this.brokerUrl });
    this.#enqueue(() => this.#snapshot()).then(
      () => this.emit('connected'),
      () => undefined, // the connection dropped mid-snapshot; the next connect repeats it
    );
  }

  #onClose(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#loseConnection(new CamgateError('CAMGATE_MQTT', 'MQTT: connection lost before the broker acknowledged'));
    this.#logger.warn('mqtt connection lost; will reconnect', { url: this.brokerUrl });
    if (this.#state === 'running') this.emit('offline');
  }

  #onError(err: Error & { code?: unknown }): void {
    // mqtt.js: CONNACK return codes 4/5 (MQTT 3.1.1 §3.2.2.3) are bad credentials / not authorised.
    const auth = err.code === 4 || err.code === 5;
    const code = auth ? 'CAMGATE_MQTT_AUTH' : 'CAMGATE_MQTT';
    const message = redactString(err.message, this.#o.password ? [this.#o.password] : []);
    const key = `${code}:${String(err.code)}`;
    if (key === this.#lastErrorCode) return; // one report per distinct failure, not one per retry
    this.#lastErrorCode = key;
    const e = new CamgateError(code, auth ? `MQTT broker refused the credentials: ${message}` : `MQTT: ${message}`);
    this.#logger.warn('mqtt error', { code, error: message, url: this.brokerUrl });
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /** Publishes `offline`, disconnects cleanly, stops the embedded broker. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'closing';
    this.#store.off('transition', this.#onTransition);
    let graceful = false;
    try {
      if (this.#connected) {
        // The gateway stops: its hub tunnel goes with it, and so does the bridge.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.#o.closeTimeoutMs)));
        const sent = Promise.all([
          this.#publish(this.#topics.status, 'offline'),
          this.#publish(this.#topics.bridge, 'offline'),
        ]).then(
          () => true,
          () => false,
        );
        graceful = await Promise.race([sent, timeout]);
        clearTimeout(timer);
      }
    } finally {
      this.#transport.off('connect', this.#onConnect);
      this.#transport.off('disconnect', this.#onDisconnect);
      this.#transport.off('error', this.#onTransportError);
      try {
        await this.#transport.close(graceful);
      } catch (err) {
        this.#logger.warn('mqtt end failed', { error: err });
      }
      this.#connected = false;
      try {
        await this.#broker?.close();
      } catch (err) {
        this.#logger.warn('embedded broker close failed', { error: err });
      }
      this.#state = 'closed';
      this.#logger.info('mqtt bridge closed');
    }
  }
}
