/**
 * Kurento Protocol message shapes (doc-kurento "Kurento Protocol",
 * source/features/kurento_protocol.rst) and the error codes Kurento Media
 * Server answers with. The built-in engine imports these so both backends
 * speak the same numbers. Shapes tagged `@protocol` describe the wire format
 * even where no code names them (knip.json lets them be exported unused).
 */
import type { JsonObject, JsonValue } from './jsonrpc.js';

/** Every method a Kurento client may send to the media server. */
export const KURENTO_METHODS = [
  'ping',
  'connect',
  'create',
  'invoke',
  'subscribe',
  'unsubscribe',
  'release',
  'describe',
  'transaction',
] as const;
export type KurentoMethod = (typeof KURENTO_METHODS)[number];

/** The notification the server sends for a subscribed event. */
export const KURENTO_EVENT_METHOD = 'onEvent';

/** The well-known id of the server's ServerManager object. */
export const SERVER_MANAGER_ID = 'manager_ServerManager';
/** `server` in the JSON that `ServerManager.getMetadata` answers on camgate's built-in engine (KMS answers its own metadata). */
export const BUILTIN_ENGINE_SERVER = 'camgate-engine';

/**
 * `ping`: keepalive; `interval` (ms) tells the server how long to keep the session without pings.
 * @protocol
 */
export interface PingParams {
  interval?: number;
}
/**
 * `ping` result: `{ value: 'pong' }`.
 * @protocol
 */
export interface PingResult {
  value: 'pong';
}

/**
 * `connect`: opens a session, or with `sessionId` resumes one after a reconnect.
 * @protocol
 */
export interface ConnectParams {
  sessionId?: string;
}

/**
 * `create`: a media object of `type`, e.g. `PlayerEndpoint` (or qualified `kurento.PlayerEndpoint`).
 * @protocol
 */
export interface CreateParams {
  type: string;
  constructorParams?: JsonObject;
  /** Extra properties set on the object at creation (the official client sends `{}`). */
  properties?: JsonObject;
  sessionId?: string;
}

/**
 * `invoke`: calls `operation` on `object`.
 * @protocol
 */
export interface InvokeParams {
  object: string;
  operation: string;
  operationParams?: JsonObject;
  sessionId?: string;
}

/**
 * `subscribe`: asks for `onEvent` notifications of `type` from `object`.
 * @protocol
 */
export interface SubscribeParams {
  object: string;
  type: string;
  sessionId?: string;
}

/**
 * `unsubscribe`: drops a subscription by the token `subscribe` returned.
 * @protocol
 */
export interface UnsubscribeParams {
  object: string;
  subscription: string;
  sessionId?: string;
}

/**
 * `release`: destroys `object` (a pipeline takes its elements with it).
 * @protocol
 */
export interface ReleaseParams {
  object: string;
  sessionId?: string;
}

/**
 * `describe`: type information for an object id (used by the official client on reconnect and for the ServerManager).
 * @protocol
 */
export interface DescribeParams {
  object: string;
  sessionId?: string;
}

/**
 * `describe` result.
 * @protocol
 */
export interface DescribeResult {
  type: string;
  qualifiedType?: string;
  hierarchy?: string[];
  sessionId?: string;
}

/**
 * One operation inside a `transaction`: a complete JSON-RPC request whose
 * `id` is its index; `newref:N` in any object reference names the object
 * created by operation N of the same transaction.
 */
export interface TransactionOperation {
  jsonrpc: '2.0';
  id: number;
  method: Exclude<KurentoMethod, 'transaction' | 'ping' | 'connect'>;
  params: JsonObject;
}

/**
 * `transaction`: several operations executed in order by the server.
 * @protocol
 */
export interface TransactionParams {
  operations: TransactionOperation[];
  sessionId?: string;
}

/** The prefix of a reference to an object created earlier in the same transaction. */
export const NEWREF_PREFIX = 'newref:';

/**
 * Generic result of create / invoke / subscribe: `value` plus the session id.
 * @protocol
 */
export interface KurentoResult {
  value?: JsonValue;
  sessionId?: string;
}

/**
 * `onEvent` notification params (server → client).
 * @protocol
 */
export interface OnEventParams {
  value: {
    /** The object that raised the event. */
    object: string;
    /** Event type, e.g. `IceCandidateFound`. */
    type: string;
    data: JsonObject;
  };
}

/**
 * Error codes Kurento Media Server returns in `error.code`.
 * Sources: kms-core `KurentoException.hpp` / the KMS thrift error constants
 * (40000–40206), and kurento-client 7.3 `lib/KurentoClient.js`, which gives
 * 40100, 40101, 40105 their own exception classes and treats 40007 as
 * "session lost" when it reconnects.
 */
export const KurentoErrorCode = {
  /** Generic media error. */
  MEDIA_ERROR: 40000,
  MARSHALL_ERROR: 40001,
  /** A parameter could not be decoded (wrong type or shape). */
  UNMARSHALL_ERROR: 40002,
  UNEXPECTED_ERROR: 40003,
  /** `connect` with a sessionId the server does not know (kurento-client: INVALID_SESSION). */
  INVALID_SESSION: 40007,
  /** `create` of a type the server does not have (kurento-client maps it to TypeError). */
  MEDIA_OBJECT_TYPE_NOT_FOUND: 40100,
  /** An object id that does not exist (kurento-client maps it to ReferenceError). */
  MEDIA_OBJECT_NOT_FOUND: 40101,
  MEDIA_OBJECT_CAST_ERROR: 40102,
  MEDIA_OBJECT_HAS_NOT_PARENT: 40103,
  MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND: 40104,
  /** An operation the object's type does not have (kurento-client: METHOD_NOT_FOUND, SyntaxError). */
  MEDIA_OBJECT_METHOD_NOT_FOUND: 40105,
  MEDIA_OBJECT_EVENT_NOT_SUPPORTED: 40106,
  SDP_CREATE_ERROR: 40200,
  SDP_PARSE_ERROR: 40201,
  SDP_END_POINT_NO_LOCAL_SDP_ERROR: 40202,
  SDP_END_POINT_NO_REMOTE_SDP_ERROR: 40203,
  SDP_END_POINT_GENERATE_OFFER_ERROR: 40204,
  SDP_END_POINT_PROCESS_OFFER_ERROR: 40205,
  SDP_END_POINT_PROCESS_ANSWER_ERROR: 40206,
} as const;

/**
 * The JSON-RPC error code the camgate policy answers with when it refuses a
 * request. JSON-RPC 2.0 §5.1 reserves -32000…-32099 for implementation-defined
 * server errors; -32001 is ours and never produced by KMS.
 */
export const POLICY_DENIED_RPC_CODE = -32001;
