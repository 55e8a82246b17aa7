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

/** Core's Gateway `cameraState` event. */
export interface CameraState {
  cameraId: string;
  state: string;
  reason?: string;
  notice?: { message: string };
}

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
