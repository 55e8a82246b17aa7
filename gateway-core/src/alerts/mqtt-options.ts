import { isLoopbackHost, redactString, type Logger } from '../util/index.js';
import { assertTopicLevel, assertTopicPrefix } from './topics.js';
import type { MqttTransport } from './mqtt-transport.js';

export interface MqttBridgeOptions {
  /**
   * A connection the caller owns (e.g. Node-RED's `mqtt-broker` node, wrapped): the bridge publishes through
   * it instead of connecting by itself. Excludes `url`, credentials, `tls` and `embeddedPort`.
   */
  transport?: MqttTransport;
  /** Broker URL (`mqtt://`, `mqtts://`); `undefined` (and no `transport`) starts an embedded aedes broker on loopback. */
  url?: string;
  /** Broker user name (a user name in the URL is used when this is unset). */
  username?: string;
  /** Broker password; never logged. */
  password?: string;
  /** TLS material for `mqtts://` (PEM strings). */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  /** Allow plain `mqtt://` to a host that is not loopback (credentials and flags then cross the LAN in clear). */
  allowInsecure?: boolean;
  /** First topic level(s). */
  baseTopic?: string;
  /** Home Assistant discovery prefix. */
  discoveryPrefix?: string;
  /** Publish Home Assistant discovery configs. */
  homeAssistant?: boolean;
  /** This gateway's id: one topic level. */
  gatewayId: string;
  /** Name of the Home Assistant device (defaults to `camgate <gatewayId>`). */
  gatewayName?: string;
  /** Cameras to publish an exposure state (and a discovery config) for; ids are topic levels. */
  cameras: { id: string; name: string }[];
  /**
   * The `status` topic until `publishStatus` is called. `status` tells whether the gateway's hub tunnel is
   * connected and accepted, so it starts `offline` and whoever watches the tunnel sets it (FlagService
   * does, from its `control`); a bridge of a gateway without a hub may start `online`.
   */
  initialStatus?: 'online' | 'offline';
  /** Port of the embedded broker when `url` is unset (0 = ephemeral). */
  embeddedPort?: number;
  /** Wait between reconnect attempts, ms. */
  reconnectMs?: number;
  /** Longest wait for the `offline` status to be acknowledged on close, ms. */
  closeTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_MQTT_BRIDGE_OPTIONS = {
  baseTopic: 'camgate',
  discoveryPrefix: 'homeassistant', // Home Assistant's default
  homeAssistant: true,
  reconnectMs: 2_000, // 2 s
  closeTimeoutMs: 2_000, // 2 s
  initialStatus: 'offline', // the hub tunnel is not up before anyone said so
  keepaliveS: 30, // 30 s: a dead bridge's last will fires within 45 s (MQTT 3.1.1 §3.1.2.10: 1.5 × keepalive)
  connectTimeoutMs: 10_000, // 10 s
} as const;

export interface ResolvedBridge {
  url: string | undefined;
  username: string | undefined;
  password: string | undefined;
  baseTopic: string;
  discoveryPrefix: string;
  homeAssistant: boolean;
  gatewayId: string;
  gatewayName: string;
  cameras: { id: string; name: string }[];
  reconnectMs: number;
  closeTimeoutMs: number;
  initialStatus: 'online' | 'offline';
}

/** Validates options at the edge; every error names the option, the value and what is allowed. */
export function resolveBridgeOptions(o: MqttBridgeOptions): ResolvedBridge {
  const d = DEFAULT_MQTT_BRIDGE_OPTIONS;
  let url = o.url;
  let username = o.username;
  let password = o.password;
  if (o.transport !== undefined) {
    for (const k of ['url', 'username', 'password', 'tls', 'embeddedPort'] as const)
      if (o[k] !== undefined)
        throw new RangeError(`${k} must be unset when a transport is given (it owns the connection)`);
    if (typeof o.transport?.publish !== 'function' || typeof o.transport.on !== 'function')
      throw new TypeError('transport must implement MqttTransport (publish, on, off, start, close)');
  }
  if (url !== undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new TypeError(`url must be an mqtt:// or mqtts:// URL, got ${JSON.stringify(redactString(String(url)))}`);
    }
    if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') {
      throw new RangeError(`url must use mqtt:// or mqtts://, got ${JSON.stringify(u.protocol)}`);
    }
    // Only the digits of an IP literal make a host loopback: `mqtt://127.attacker.example` is a name (util/host-class.ts).
    if (u.protocol === 'mqtt:' && !isLoopbackHost(u.hostname) && o.allowInsecure !== true) {
      throw new RangeError(
        `url ${u.protocol}//${u.host} is plain MQTT to a non-loopback host; use mqtts:// or set allowInsecure: true`,
      );
    }
    // Credentials in the URL are moved to the options so the URL can be logged.
    if (u.username) username ??= decodeURIComponent(u.username);
    if (u.password) password ??= decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    url = u.toString();
  }
  const cameras = o.cameras;
  if (!Array.isArray(cameras)) throw new TypeError('cameras must be an array of {id, name}');
  cameras.forEach((c, i) => {
    assertTopicLevel(`cameras[${i}].id`, c?.id);
    if (typeof c.name !== 'string' || c.name === '')
      throw new TypeError(`cameras[${i}].name must be a non-empty string`);
  });
  const ms = (name: string, v: number | undefined, dflt: number): number => {
    const value = v ?? dflt;
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${name} must be a positive integer (ms), got ${value}`);
    return value;
  };
  return {
    url,
    username,
    password,
    baseTopic: assertTopicPrefix('baseTopic', o.baseTopic ?? d.baseTopic),
    discoveryPrefix: assertTopicPrefix('discoveryPrefix', o.discoveryPrefix ?? d.discoveryPrefix),
    homeAssistant: o.homeAssistant ?? d.homeAssistant,
    gatewayId: assertTopicLevel('gatewayId', o.gatewayId),
    gatewayName: o.gatewayName ?? `camgate ${o.gatewayId}`,
    cameras: cameras.map((c) => ({ id: c.id, name: c.name })),
    reconnectMs: ms('reconnectMs', o.reconnectMs, d.reconnectMs),
    closeTimeoutMs: ms('closeTimeoutMs', o.closeTimeoutMs, d.closeTimeoutMs),
    initialStatus: status('initialStatus', o.initialStatus ?? d.initialStatus),
  };
}

function status(name: string, v: unknown): 'online' | 'offline' {
  if (v !== 'online' && v !== 'offline')
    throw new RangeError(`${name} must be 'online' or 'offline', got ${String(v)}`);
  return v;
}
