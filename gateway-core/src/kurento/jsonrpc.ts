/**
 * JSON-RPC 2.0 codec (https://www.jsonrpc.org/specification), strict enough to
 * sit on a network edge: every text is size-checked before it is parsed, every
 * message is classified and validated, and hostile shapes (batches, deep
 * nesting, non-finite numbers, prototype keys) are refused with a
 * `CamgateError` instead of reaching the code behind it.
 */
import { CamgateError } from '../util/index.js';

/** JSON-RPC 2.0 §5.1 pre-defined error codes. */
export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_METHOD_NOT_FOUND = -32601;
/** @protocol */
export const JSONRPC_INVALID_PARAMS = -32602;
/** @protocol */
export const JSONRPC_INTERNAL_ERROR = -32603;

/** Kurento uses objects only; §4: an id is a String, Number or Null. */
export type JsonRpcId = string | number | null;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: string | number;
  method: string;
  params?: JsonObject | JsonValue[];
}

/** §4.1: a request without `id`. */
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: JsonObject | JsonValue[];
}

export interface JsonRpcSuccessResponse {
  jsonrpc: '2.0';
  id: string | number;
  result: JsonValue;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: JsonValue;
}

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  /** §5: null when the request id could not be determined. */
  id: JsonRpcId;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccessResponse | JsonRpcErrorResponse;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;
export type JsonRpcKind = 'request' | 'notification' | 'success' | 'error';

/** Nesting deeper than this is refused; Kurento's deepest message (a transaction) is about 7 levels. */
export const MAX_JSON_DEPTH = 32;
/** Longest accepted string id and method name (characters). */
const MAX_ID_LENGTH = 256;
const MAX_METHOD_LENGTH = 128;
/** Keys that would reach an object's prototype if the value were ever merged with assignment semantics. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A parse/validation failure. `rpcCode` is the JSON-RPC code a server should
 * answer with (§5.1) and `id` the request id when it could be read, so the
 * caller can build a correct error response (§5: null when unknown).
 */
export class JsonRpcParseError extends CamgateError {
  readonly rpcCode: number;
  readonly id: JsonRpcId;
  constructor(
    code: 'CAMGATE_JSONRPC_PARSE' | 'CAMGATE_JSONRPC_TOO_LARGE',
    rpcCode: number,
    message: string,
    id: JsonRpcId = null,
  ) {
    super(code, message);
    this.name = 'JsonRpcParseError';
    this.rpcCode = rpcCode;
    this.id = id;
  }
}

function invalid(message: string, id: JsonRpcId = null): JsonRpcParseError {
  return new JsonRpcParseError(
    'CAMGATE_JSONRPC_PARSE',
    JSONRPC_INVALID_REQUEST,
    `invalid JSON-RPC message: ${message}`,
    id,
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Walks the parsed tree without recursion (a hostile depth cannot overflow the
 * stack here) and refuses depth, non-finite numbers and prototype keys.
 */
function checkTree(root: unknown, maxDepth: number): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'number') {
      // JSON.parse('1e400') is Infinity, which JSON cannot carry back out.
      if (!Number.isFinite(value)) throw invalid('number out of range');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDepth) throw invalid(`nesting deeper than ${maxDepth}`);
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw invalid(`forbidden key "${key}"`);
      stack.push([(value as Record<string, unknown>)[key], depth + 1]);
    }
  }
}

function readId(v: unknown, allowNull: boolean): JsonRpcId | undefined {
  if (v === null && allowNull) return null;
  // §4: numbers SHOULD NOT contain fractional parts; we require safe integers so ids round-trip exactly.
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && v.length <= MAX_ID_LENGTH) return v;
  return undefined;
}

/** Classifies an already validated message. */
export function kindOf(msg: JsonRpcMessage): JsonRpcKind {
  if ('method' in msg) return 'id' in msg ? 'request' : 'notification';
  return 'error' in msg ? 'error' : 'success';
}

export function isRequest(msg: JsonRpcMessage): msg is JsonRpcRequest {
  return kindOf(msg) === 'request';
}
export function isResponse(msg: JsonRpcMessage): msg is JsonRpcResponse {
  return !('method' in msg);
}

/**
 * Parses and validates one JSON-RPC 2.0 message of at most `maxBytes` UTF-8
 * bytes. Batches (§6) are refused: the Kurento protocol never uses them and
 * each would multiply what one frame can make the backend do.
 *
 * @throws JsonRpcParseError `CAMGATE_JSONRPC_TOO_LARGE` or `CAMGATE_JSONRPC_PARSE`.
 */
export function parseMessage(text: string, maxBytes: number): JsonRpcMessage {
  if (typeof text !== 'string') throw invalid('not a text frame');
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`maxBytes: ${String(maxBytes)} is not allowed (a positive integer number of bytes)`);
  }
  // Cheap upper bound first: a UTF-16 length over maxBytes is always too large... unless characters are
  // multi-byte, so only compute the exact byte length when it can matter.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new JsonRpcParseError(
      'CAMGATE_JSONRPC_TOO_LARGE',
      JSONRPC_INVALID_REQUEST,
      `message larger than ${maxBytes} bytes`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // §5.1 -32700; the parser's own message is not echoed (it quotes input).
    throw new JsonRpcParseError(
      'CAMGATE_JSONRPC_PARSE',
      JSONRPC_PARSE_ERROR,
      'invalid JSON-RPC message: not valid JSON',
    );
  }
  if (Array.isArray(value)) throw invalid('batches are not supported');
  if (!isPlainObject(value)) throw invalid('top level is not an object');
  checkTree(value, MAX_JSON_DEPTH);
  return validateMessage(value);
}

/** Validates an object that is already JSON (e.g. an operation inside a Kurento transaction). */
export function validateMessage(value: Record<string, unknown>): JsonRpcMessage {
  const id = readId(value.id, true);
  const knownId: JsonRpcId = id === undefined ? null : id;
  if (value.jsonrpc !== '2.0') throw invalid('"jsonrpc" must be exactly "2.0"', knownId);

  if ('method' in value) {
    for (const key of Object.keys(value)) {
      if (key !== 'jsonrpc' && key !== 'method' && key !== 'params' && key !== 'id') {
        throw invalid(`unexpected member "${key}" in a request`, knownId);
      }
    }
    const method = value.method;
    if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
      throw invalid('"method" must be a non-empty string', knownId);
    }
    // §4: names beginning with "rpc." are reserved for rpc-internal methods.
    if (method.startsWith('rpc.')) throw invalid('"rpc." methods are reserved', knownId);
    if ('params' in value && (typeof value.params !== 'object' || value.params === null)) {
      // §4.2: params is a structured value, an Array or an Object.
      throw invalid('"params" must be an object or an array', knownId);
    }
    const base: JsonRpcNotification = { jsonrpc: '2.0', method };
    if ('params' in value) base.params = value.params as JsonObject | JsonValue[];
    if (!('id' in value)) return base;
    // A null request id is allowed by §4 but "discouraged"; it would collide with §5's "unknown id".
    const reqId = readId(value.id, false);
    if (reqId === undefined || reqId === null) throw invalid('"id" must be a string or an integer');
    return { ...base, id: reqId };
  }

  for (const key of Object.keys(value)) {
    if (key !== 'jsonrpc' && key !== 'result' && key !== 'error' && key !== 'id') {
      throw invalid(`unexpected member "${key}" in a response`, knownId);
    }
  }
  if (!('id' in value) || id === undefined) throw invalid('a response needs a string, integer or null "id"');
  const hasResult = 'result' in value;
  const hasError = 'error' in value;
  // §5: exactly one of result and error.
  if (hasResult === hasError) throw invalid('a response has exactly one of "result" and "error"', id);
  if (hasResult) {
    if (id === null) throw invalid('a success response needs a non-null "id"');
    return { jsonrpc: '2.0', id, result: value.result as JsonValue };
  }
  const err = value.error;
  if (!isPlainObject(err)) throw invalid('"error" must be an object', id);
  // §5.1: code is an integer, message a string, data optional.
  if (typeof err.code !== 'number' || !Number.isSafeInteger(err.code))
    throw invalid('"error.code" must be an integer', id);
  if (typeof err.message !== 'string') throw invalid('"error.message" must be a string', id);
  const error: JsonRpcErrorObject = { code: err.code, message: err.message };
  if ('data' in err) error.data = err.data as JsonValue;
  return { jsonrpc: '2.0', id, error };
}

/** Builds an error response (§5.1). */
export function errorResponse(id: JsonRpcId, code: number, message: string, data?: JsonValue): JsonRpcErrorResponse {
  const error: JsonRpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

/** Builds a success response (§5). */
export function resultResponse(id: string | number, result: JsonValue): JsonRpcSuccessResponse {
  return { jsonrpc: '2.0', id, result };
}

/** Serialises a message for the wire. */
export function serializeMessage(msg: JsonRpcMessage): string {
  return JSON.stringify(msg);
}
