/**
 * Feeds camgate's flags into the plugin's FlagStore from MQTT: the retained
 * `BASE/GATEWAY/flags/FLAG_ID` messages camgate's MqttBridge publishes
 * (gateway-core docs/mqtt.md). Every payload is size-limited and validated
 * by `FlagStore.apply`; a bad one is logged and dropped.
 */
import type { Flag, FlagStore } from '@camgate/core';
import mqtt, { type MqttClient } from 'mqtt';
import type { ExposureSettings } from './config.js';
import type { PrefixedLog } from './log.js';

/** A flag is a few kB (bounded evidence); anything bigger is not one. */
const MAX_FLAG_BYTES = 64 * 1024;

export class MqttFlagFeed {
  readonly #client: MqttClient;
  #closed = false;

  constructor(settings: ExposureSettings & { mqttUrl: string }, store: FlagStore, log: PrefixedLog) {
    const topic = `${settings.baseTopic}/+/flags/+`;
    this.#client = mqtt.connect(settings.mqttUrl, {
      ...(settings.mqttUsername ? { username: settings.mqttUsername } : {}),
      ...(settings.mqttPassword ? { password: settings.mqttPassword } : {}),
      reconnectPeriod: 5_000, // 5 s between reconnects
      connectTimeout: 10_000,
    });
    this.#client.on('connect', () => {
      log.info(`flags: subscribed to ${topic}`);
      this.#client.subscribe(topic, { qos: 1 }, (err) => {
        if (err) log.warn(`flags: subscribe failed: ${err.message}`);
      });
    });
    this.#client.on('error', (err) => log.warn(`flags: MQTT error: ${err.message}`));
    this.#client.on('message', (t, payload) => {
      if (payload.length === 0) return; // a cleared retained message
      if (payload.length > MAX_FLAG_BYTES) {
        log.warn(`flags: dropped a ${payload.length}-byte message on ${t.slice(0, 200)} (limit ${MAX_FLAG_BYTES})`);
        return;
      }
      let flag: Flag;
      try {
        flag = JSON.parse(payload.toString('utf8')) as Flag;
      } catch {
        log.warn(`flags: dropped a message that is not JSON on ${t.slice(0, 200)}`);
        return;
      }
      store.apply(flag).catch((err: unknown) => {
        log.warn(
          `flags: dropped an invalid flag on ${t.slice(0, 200)}: ${String((err as Error).message ?? err).slice(0, 300)}`,
        );
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.endAsync(true);
  }
}
