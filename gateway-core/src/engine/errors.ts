import { KurentoErrorCode as SHARED } from '../kurento/types.js'; // not index.js: the client and policy stay out of the engine

/**
 * Kurento error codes, as Kurento Media Server defines them in
 * kms-core `src/server/implementation/KurentoException.hpp`, and the JSON-RPC
 * 2.0 codes (JSON-RPC 2.0 §5.1). kurento-client maps 40100 → TypeError,
 * 40101 → ReferenceError, 40105 → SyntaxError and 40007 → "invalid session"
 * on reconnect, so the numbers must be exactly these.
 *
 * Codes `src/kurento/` already publishes are taken from there; the rest
 * (which only a server raises) are defined here from KurentoException.hpp.
 */
export const KurentoErrorCode = {
  // JSON-RPC 2.0 §5.1
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  // KurentoException.hpp — generic
  MARSHALL_ERROR: SHARED.MARSHALL_ERROR,
  UNEXPECTED_ERROR: SHARED.UNEXPECTED_ERROR,
  CONNECT_ERROR: 40004,
  NOT_IMPLEMENTED: 40006,
  INVALID_SESSION: SHARED.INVALID_SESSION,
  MALFORMED_TRANSACTION: 40008,
  NOT_ENOUGH_RESOURCES: 40009,
  // KurentoException.hpp — MediaObject
  MEDIA_OBJECT_TYPE_NOT_FOUND: SHARED.MEDIA_OBJECT_TYPE_NOT_FOUND,
  MEDIA_OBJECT_NOT_FOUND: SHARED.MEDIA_OBJECT_NOT_FOUND,
  MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND: SHARED.MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND,
  MEDIA_OBJECT_METHOD_NOT_FOUND: SHARED.MEDIA_OBJECT_METHOD_NOT_FOUND,
  MEDIA_OBJECT_EVENT_NOT_SUPPORTED: SHARED.MEDIA_OBJECT_EVENT_NOT_SUPPORTED,
  MEDIA_OBJECT_ILLEGAL_PARAM_ERROR: 40107,
  MEDIA_OBJECT_NOT_AVAILABLE: 40108,
  MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT: 40109,
  MEDIA_OBJECT_TAG_KEY_NOT_FOUND: 40110,
  MEDIA_OBJECT_OPERATION_NOT_SUPPORTED: 40111,
  // KurentoException.hpp — SDP
  SDP_END_POINT_GENERATE_OFFER_ERROR: SHARED.SDP_END_POINT_GENERATE_OFFER_ERROR,
  SDP_END_POINT_PROCESS_OFFER_ERROR: SHARED.SDP_END_POINT_PROCESS_OFFER_ERROR,
  SDP_END_POINT_PROCESS_ANSWER_ERROR: SHARED.SDP_END_POINT_PROCESS_ANSWER_ERROR,
  SDP_END_POINT_NOT_OFFER_GENERATED: 40209,
  // KurentoException.hpp — ICE
  ICE_GATHER_CANDIDATES_ERROR: 40400,
  ICE_ADD_CANDIDATE_ERROR: 40401,
} as const;

export type KurentoErrorName = keyof typeof KurentoErrorCode;

/** JSON-RPC error object as KMS sends it: `data.type` is the symbolic name (KurentoException::getType). */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { type: string };
}

/**
 * An error a handler throws to answer the request with a Kurento error. The
 * message goes to the client, so it must never contain a URI, credential or
 * anything else taken from the object's configuration.
 */
export class KurentoRpcError extends Error {
  readonly code: number;
  readonly type: KurentoErrorName;

  constructor(type: KurentoErrorName, message: string) {
    super(message);
    this.name = 'KurentoRpcError';
    this.type = type;
    this.code = KurentoErrorCode[type];
  }

  toJSON(): RpcErrorObject {
    // JSON-RPC codes carry no Kurento type, like KMS's JsonRpc::CallException for -32xxx.
    if (this.code < 0) return { code: this.code, message: this.message };
    return { code: this.code, message: this.message, data: { type: this.type } };
  }
}

/** KMS's MediaSet::getMediaObject message. */
export function objectNotFound(id: string): KurentoRpcError {
  if (id.startsWith('newref:')) {
    return new KurentoRpcError(
      'MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT',
      `Object '${clip(id)}' not found. Possibly using a transactional object without committing the transaction.`,
    );
  }
  return new KurentoRpcError('MEDIA_OBJECT_NOT_FOUND', `Object '${clip(id)}' not found`);
}

/** Echoed identifiers are clipped so a hostile id cannot inflate the answer. */
export function clip(s: string, max = 128): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
