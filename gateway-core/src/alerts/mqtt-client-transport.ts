import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttPublishOptions, MqttTransport, MqttTransportEvents, MqttWill } from './mqtt-transport.js';

export interface MqttClientTransportOptions {
  /** Broker URL without credentials (`mqtt://`, `mqtts://`). */
  url: string;
  username?: string;
  /** Never logged. */
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  /** Used in the client id (cut to 40 characters). */
  clientName: string;
  /** Registered with the broker in CONNECT (MQTT 3.1.1 §3.1.2.5). */
  will?: MqttWill;
  /** Wait between reconnect attempts, ms. */
  reconnectMs: number;
  keepaliveS: number;
  connectTimeoutMs: number;
}

/** The bridge's default transport: its own mqtt.js client (MQTT 3.1.1). */
export class MqttClientTransport extends EventEmitter<MqttTransportEvents> implements MqttTransport {
  readonly label: string;
  readonly will: MqttWill | undefined;
  readonly #o: MqttClientTransportOptions;
  #client: MqttClient | undefined;
  #connected = false;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(o: MqttClientTransportOptions) {
    super();
    this.#o = o;
    this.label = o.url;
    this.will = o.will;
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    if (this.#client || this.#closed) return;
    const o = this.#o;
    const opts: IClientOptions = {
      clientId: `camgate-${o.clientName.slice(0, 40)}-${randomBytes(4).toString('hex')}`,
      protocolVersion: 4, // MQTT 3.1.1: aedes speaks nothing newer
      clean: true,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      // We schedule reconnects ourselves (#scheduleReconnect): mqtt.js retries on a fixed interval and starts a
      // new attempt on every tick, abandoning the one in flight, so when a handshake takes longer than the
      // period (a loaded host, a slow NAT path) it never connects again.
      reconnectPeriod: 0,
      queueQoSZero: false,
    };
    if (o.will) opts.will = { ...o.will, payload: Buffer.from(o.will.payload) };
    if (o.username !== undefined) opts.username = o.username;
    if (o.password !== undefined) opts.password = o.password;
    if (o.tls?.ca !== undefined) opts.ca = o.tls.ca;
    if (o.tls?.cert !== undefined) opts.cert = o.tls.cert;
    if (o.tls?.key !== undefined) opts.key = o.tls.key;
    if (o.tls?.rejectUnauthorized !== undefined) opts.rejectUnauthorized = o.tls.rejectUnauthorized;
    const client = mqtt.connect(o.url, opts);
    this.#client = client;
    client.on('connect', () => {
      if (this.#closed) return;
      this.#connected = true;
      this.emit('connect');
    });
    client.on('close', () => {
      if (this.#connected) {
        this.#connected = false;
        if (!this.#closed) this.emit('disconnect');
      }
      this.#scheduleReconnect();
    });
    client.on('error', (err) => {
      if (!this.#closed && this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  async publish(topic: string, payload: string, opts: MqttPublishOptions): Promise<void> {
    if (!this.#client || !this.#connected) throw new Error('not connected');
    await this.#client.publishAsync(topic, payload, opts);
  }

  /** One reconnect attempt at a time: the next is scheduled only once the previous one has ended. */
  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#closed && this.#client && !this.#client.connected) this.#client.reconnect();
    }, this.#o.reconnectMs);
  }

  async close(graceful: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const client = this.#client;
    this.#connected = false;
    // end(false) sends DISCONNECT, so the broker drops the will (MQTT 3.1.1 §3.14.4); end(true) just closes.
    await client?.endAsync(!graceful);
  }
}
