/**
 * The part of Node-RED's runtime API the camgate nodes use (@node-red/registry createNodeApi, @node-red/runtime
 * Node), for `checkJs` over the node files: Node-RED ships no types of its own, and the nodes need a small slice.
 */
import type { EventEmitter } from 'node:events';
import type { GatewayRuntime } from './gateway-runtime.js';

/** Node-RED's message lookup (`RED._`): relative keys resolve in the calling node file's catalog. */
export type Translate = (key: string, vars?: Record<string, unknown>) => string;

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/** What the flow JSON holds for a node: its id, type, name and its own properties (all unchecked). */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [property: string]: unknown;
}

export type Done = (err?: Error) => void;

/** A runtime node (@node-red/runtime lib/nodes/Node.js). */
export interface Node extends EventEmitter {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  status(s: NodeStatus): void;
  send(msg: unknown): void;
  error(err: unknown, msg?: object): void;
  warn(msg: unknown): void;
  log(msg: unknown): void;
  debug(msg: unknown): void;
  on(event: 'input', fn: (msg: Record<string, unknown>, send: (m: unknown) => void, done: Done) => void): this;
  on(event: 'close', fn: (removed: boolean, done: () => void) => void): this;
  on(event: string, fn: (...args: never[]) => void): this;
}

export interface NodeRedApi {
  _: Translate;
  nodes: {
    createNode(node: object, def: NodeDef): void;
    getNode(id: string): Node | null;
    registerType(
      type: string,
      ctor: (this: never, def: never) => void,
      opts?: { credentials?: Record<string, { type: string }> },
    ): void;
  };
  util: { cloneMessage<T>(msg: T): T };
  settings: { userDir?: string };
}

/** The mqtt.js client a broker node holds (`broker.client`): the events and flags NodeRedBrokerTransport reads. */
export interface MqttClientLike {
  connected: boolean;
  disconnecting: boolean;
  disconnected: boolean;
  on(event: 'connect' | 'close' | 'end', fn: () => void): this;
  off(event: 'connect' | 'close' | 'end', fn: () => void): this;
}

/** The will a broker node connects with (its "Message on unexpected disconnect"), unchecked as the editor saved it. */
export interface MqttBrokerWill {
  topic?: unknown;
  payload?: unknown;
  qos?: unknown;
  retain?: unknown;
}

/**
 * Node-RED's `mqtt-broker` config node (core 10-mqtt.js), the part of its face its own mqtt nodes use:
 * users register/deregister, `publish(msg, done)` (drops the message and never calls `done` while disconnected),
 * `connected`, its current mqtt.js `client` (replaced on every connect) and its connect `options`.
 */
export interface MqttBrokerNode extends Node {
  connected: boolean;
  client: MqttClientLike | null | undefined;
  options: { will?: MqttBrokerWill | undefined } | undefined;
  register(user: Node): void;
  deregister(user: Node, done: () => void, autoDisconnect?: boolean): void;
  publish(
    msg: { topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean },
    done?: (err?: unknown) => void,
  ): void;
}

export interface MqttBridgeNodeDef extends NodeDef {
  gateway?: string;
  broker?: string;
  url?: string;
  allowInsecure?: boolean;
  baseTopic?: string;
  discoveryPrefix?: string;
  homeAssistant?: boolean;
}

/** A camera for the gateway runtime (credentials included: never in a message). */
export interface CameraEntry {
  id: string;
  name: string;
  url: string;
  host?: string | undefined;
  ports: number[];
  username?: string | undefined;
  password?: string | undefined;
}

export interface CameraNodeDef extends NodeDef {
  cameraId?: unknown;
  url?: unknown;
  host?: unknown;
  ports?: unknown;
}

export interface CameraNode extends Node {
  cameraId: string;
  url: string;
  host: string;
  ports: number[];
  problems: string[];
  toCamera(): CameraEntry;
}

export interface GatewayNodeDef extends NodeDef {
  hubUrl?: string;
  gatewayId: string;
  fingerprint256?: string;
  allowInsecure?: boolean | string;
  backend?: string;
  kmsUrl?: string;
  mediaAddress?: unknown;
  cameras?: unknown;
  persistFlags?: boolean;
  keepWarm?: boolean | string;
  allowLanViewers?: boolean | string;
  canary?: unknown;
  ssdpAddress?: unknown;
  ssdpPort?: unknown;
  ipv6Interval?: unknown;
}

export interface GatewayNode extends Node {
  gatewayId: string;
  users: Map<string, Node>;
  runtime: GatewayRuntime;
  register(user: Node): void;
  deregister(user: Node): void;
}

/** A flow node that uses a gateway (and may show its status). */
export interface GatewayUserNode extends Node {
  gateway: GatewayNode | null;
}

export interface ExposureNodeDef extends NodeDef {
  gateway?: string;
  intervalMin?: unknown;
  telnetPorts?: unknown;
  upnp?: boolean;
  telnet?: boolean;
  defaultCredentials?: boolean;
  ssdpAddress?: unknown;
  ssdpPort?: unknown;
  runOnDeploy?: boolean;
}

/** Core's Gateway `cameraState` event (what core's MqttBridge.publishCameraState takes). */
export type CameraState = import('@camgate/core').CameraStateInput;

/** Core's FlagStore transition. */
export interface FlagTransition {
  from: string;
  to: string;
  at: string;
  flag: { id: string; kind: string; gatewayId: string; cameraId?: string };
}

/** Output 2 of camgate-exposure. */
export interface AuditSummary {
  gatewayId: string;
  startedAt: string;
  finishedAt: string;
  checked: string[];
  errors: { kind: string; code: string | undefined; message: string }[];
  raised: number;
  cleared: number;
  exposure: unknown;
}
