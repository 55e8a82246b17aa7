/**
 * How the MqttBridge reaches a broker (docs/mqtt.md, "Transports"). The
 * bridge decides WHAT to publish and WHEN (retained state, republished on
 * every connect); a transport only carries publishes and says when a session
 * with the broker starts and ends. Two exist: `MqttClientTransport` (an
 * mqtt.js client the bridge owns, the default) and any wrapper's own — the
 * Node-RED nodes wrap Node-RED's `mqtt-broker` config node, so a flow shares
 * the connection its user already configured.
 */

/** Options of one publish. The bridge publishes everything QoS 1, retained (MQTT 3.1.1 §3.3.1.3). */
export interface MqttPublishOptions {
  qos: 0 | 1;
  retain: boolean;
}

/** A message the broker publishes for a client that vanishes without DISCONNECT (MQTT 3.1.1 §3.1.2.5). */
export interface MqttWill {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

export interface MqttTransportEvents {
  /** A session with the broker started (first connect and every reconnect); publishes may go now. */
  connect: [];
  /** That session ended; the transport reconnects by itself (or its owner does). */
  disconnect: [];
  /** A connection failure; `code` 4/5 is a CONNACK refusal of the credentials (MQTT 3.1.1 §3.2.2.3). */
  error: [Error & { code?: unknown }];
}

type Listener<E extends keyof MqttTransportEvents> = (...args: MqttTransportEvents[E]) => void;

/**
 * What MqttBridge needs from a connection. Implementations must emit
 * `connect` for EVERY new session (the bridge republishes its whole retained
 * state then; that is how flags raised while the broker was away get
 * delivered) and `disconnect` when it ends.
 */
export interface MqttTransport {
  /** True between `connect` and `disconnect`. */
  readonly connected: boolean;
  /** Where it publishes, for logs: never credentials. */
  readonly label: string;
  /**
   * The will the broker holds for this connection, when the transport knows it; the bridge warns when it
   * is not its bridge-online topic (then a crash would leave Home Assistant showing the bridge online).
   */
  readonly will: MqttWill | undefined;
  /** Resolves when the broker acknowledged (QoS 1) or the packet left (QoS 0); rejects when not connected. */
  publish(topic: string, payload: string, opts: MqttPublishOptions): Promise<void>;
  on<E extends keyof MqttTransportEvents>(event: E, fn: Listener<E>): unknown;
  off<E extends keyof MqttTransportEvents>(event: E, fn: Listener<E>): unknown;
  /** Starts connecting; the bridge calls it once, after it listens to the events. */
  start(): void;
  /**
   * Ends the transport. `graceful`: the bridge's last publishes went out (a DISCONNECT may follow, and the
   * broker discards the will); otherwise the connection is dropped as is. A wrapper of a shared connection
   * only detaches from it.
   */
  close(graceful: boolean): Promise<void>;
}
