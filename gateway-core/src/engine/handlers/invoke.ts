import { KurentoRpcError } from '../errors.js';
import { isPlainObject, type Params } from '../params.js';
import type { Handler } from './context.js';
import { findObject, protoString } from './context.js';

/** `invoke {object, operation, operationParams}` → `{value, sessionId}`. */
export const invoke: Handler = async (params, ctx) => {
  const operation = protoString(params, 'operation', 64);
  const session = ctx.session(params);
  const obj = findObject(ctx, params);
  const op = params.operationParams;
  if (op !== undefined && op !== null && !isPlainObject(op)) {
    throw new KurentoRpcError('INVALID_PARAMS', "'operationParams' must be an object");
  }
  const value = await obj.invoke(operation, (op ?? {}) as Params);
  return { value, sessionId: session.id };
};
