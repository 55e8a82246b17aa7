import { KurentoRpcError } from '../errors.js';
import { isPlainObject, type Params } from '../params.js';
import { toRpcError } from '../protocol.js';
import type { Handler } from './context.js';

/** Operations in one transaction; kurento-client batches a handful. */
export const MAX_TRANSACTION_OPERATIONS = 64;
const NEW_REF = 'newref:';
/** Methods a transaction may contain (no nesting, no session control). */
const ALLOWED = new Set(['create', 'invoke', 'release', 'subscribe', 'unsubscribe', 'describe']);

type OpResponse = { jsonrpc: '2.0'; id: number; result?: Record<string, unknown>; error?: unknown };

/** Replaces `newref:N` strings by the value of operation N's result (KMS ServerMethods injectRefs). */
function injectRefs(value: unknown, responses: OpResponse[], depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') {
    if (!value.startsWith(NEW_REF) || value.length === NEW_REF.length) return value;
    const ref = value.slice(NEW_REF.length);
    if (!/^\d{1,4}$/.test(ref)) {
      throw new KurentoRpcError('MALFORMED_TRANSACTION', `Invalid index of newref '${ref.slice(0, 16)}'`);
    }
    const result = responses[Number(ref)]?.result;
    if (!result) throw new KurentoRpcError('MALFORMED_TRANSACTION', `Result not found on request ${ref}`);
    return result.value;
  }
  if (Array.isArray(value)) return value.map((v) => injectRefs(v, responses, depth + 1));
  if (isPlainObject(value)) {
    const out: Params = {};
    for (const [k, v] of Object.entries(value)) out[k] = injectRefs(v, responses, depth + 1);
    return out;
  }
  return value;
}

/**
 * `transaction {operations}`: runs the operations in order, each answered in
 * `value[i]` as a JSON-RPC response, stopping at the first error (KMS
 * ServerMethods::transaction). Operation `i` must have id `i`.
 */
export const transaction: Handler = async (params, ctx) => {
  const session = ctx.session(params);
  const operations = params.operations;
  if (!Array.isArray(operations)) throw new KurentoRpcError('INVALID_PARAMS', "'operations' must be an array");
  if (operations.length > MAX_TRANSACTION_OPERATIONS) {
    throw new KurentoRpcError('MALFORMED_TRANSACTION', `At most ${MAX_TRANSACTION_OPERATIONS} operations`);
  }
  const responses: OpResponse[] = [];
  for (let i = 0; i < operations.length; i++) {
    const op: unknown = operations[i];
    if (!isPlainObject(op) || op.id !== i) {
      throw new KurentoRpcError('MALFORMED_TRANSACTION', `Id of request '${i}' should be '${i}'`);
    }
    const method = op.method;
    const rawParams = op.params ?? {};
    let response: OpResponse;
    try {
      if (typeof method !== 'string' || !ALLOWED.has(method)) {
        throw new KurentoRpcError('METHOD_NOT_FOUND', 'Method not found');
      }
      if (!isPlainObject(rawParams)) throw new KurentoRpcError('INVALID_PARAMS', 'Invalid params');
      const opParams = injectRefs(rawParams, responses) as Params;
      opParams.sessionId = session.id;
      response = { jsonrpc: '2.0', id: i, result: await ctx.dispatch(method, opParams) };
    } catch (err) {
      if (err instanceof KurentoRpcError && err.type === 'MALFORMED_TRANSACTION') throw err;
      response = { jsonrpc: '2.0', id: i, error: toRpcError(err) };
    }
    responses.push(response);
    if (response.error) break;
  }
  return { value: responses, sessionId: session.id };
};
