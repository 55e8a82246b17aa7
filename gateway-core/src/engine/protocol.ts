import { redactString } from '../util/index.js';
import { KurentoRpcError, type RpcErrorObject } from './errors.js';
import { isPlainObject, type Params } from './params.js';

export type RpcId = string | number | null;

/** What one text frame turned out to be (JSON-RPC 2.0 §4, §5). */
export type Inbound =
  | { kind: 'request'; id: RpcId; method: string; params: Params; notification: boolean }
  | { kind: 'response' }
  | { kind: 'invalid'; id: RpcId; error: KurentoRpcError };

/**
 * Parses one frame. Never throws: garbage becomes a JSON-RPC error to send
 * back (parse error −32700 or invalid request −32600, JSON-RPC 2.0 §5.1).
 */
export function parseInbound(text: string): Inbound {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { kind: 'invalid', id: null, error: new KurentoRpcError('PARSE_ERROR', 'Parse error') };
  }
  if (!isPlainObject(msg)) {
    // Batches (JSON-RPC 2.0 §6) are not part of the Kurento protocol; KMS refuses them too.
    return { kind: 'invalid', id: null, error: new KurentoRpcError('INVALID_REQUEST', 'Invalid request') };
  }
  const rawId = msg.id;
  const idOk = rawId === undefined || rawId === null || typeof rawId === 'string' || typeof rawId === 'number';
  const id: RpcId = idOk && rawId !== undefined ? (rawId as RpcId) : null;
  if (msg.jsonrpc !== '2.0' || !idOk || (typeof rawId === 'string' && rawId.length > 128)) {
    return { kind: 'invalid', id: idOk ? id : null, error: new KurentoRpcError('INVALID_REQUEST', 'Invalid request') };
  }
  if (msg.method === undefined && ('result' in msg || 'error' in msg)) return { kind: 'response' };
  if (typeof msg.method !== 'string' || msg.method.length === 0 || msg.method.length > 64) {
    return { kind: 'invalid', id, error: new KurentoRpcError('INVALID_REQUEST', 'Invalid request') };
  }
  const params = msg.params;
  if (params !== undefined && params !== null && !isPlainObject(params)) {
    return { kind: 'invalid', id, error: new KurentoRpcError('INVALID_PARAMS', 'Invalid params') };
  }
  return {
    kind: 'request',
    id,
    method: msg.method,
    params: (params ?? {}) as Params,
    notification: rawId === undefined,
  };
}

/**
 * The last line of defence: no answer, error or event leaves the engine with
 * URL credentials in it (`rtsp://user:pass@` → `rtsp://[redacted]@`), whatever
 * handler produced it. KMS does echo them (getUri, dot graphs: ARCHITECTURE.md).
 */
export function scrubCredentials<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactString(value) as T;
  if (value === null || typeof value !== 'object' || depth > 16) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => scrubCredentials(v, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubCredentials(v, depth + 1);
  return out as T;
}

export function resultFrame(id: RpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: scrubCredentials(result) });
}

export function errorFrame(id: RpcId, error: RpcErrorObject): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: scrubCredentials(error) });
}

/** `onEvent` notification, as KMS sends it and kurento-client reads `params.value`. */
export function eventFrame(object: string, type: string, data: Record<string, unknown>): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    method: 'onEvent',
    params: { value: { data: scrubCredentials(data), object, type } },
  });
}

/** Turns anything a handler threw into the error object sent to the client. */
export function toRpcError(err: unknown): RpcErrorObject {
  if (err instanceof KurentoRpcError) return err.toJSON();
  // Unexpected failures are not described to the client: the message could carry internals.
  return new KurentoRpcError('UNEXPECTED_ERROR', 'Unexpected error').toJSON();
}
