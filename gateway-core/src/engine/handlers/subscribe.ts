import type { Handler } from './context.js';
import { findObject, protoString } from './context.js';

/** `subscribe {object, type}` → `{value: <subscription id>, sessionId}`; events arrive as `onEvent`. */
export const subscribe: Handler = (params, ctx) => {
  const type = protoString(params, 'type', 64);
  const session = ctx.session(params);
  const obj = findObject(ctx, params);
  const value = ctx.core.subscribe(session, obj, type);
  return { value, sessionId: session.id };
};
