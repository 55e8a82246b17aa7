import type { Handler } from './context.js';
import { protoString } from './context.js';

/** `create {type, constructorParams}` → `{value: <new object id>, sessionId}`. */
export const create: Handler = (params, ctx) => {
  const type = protoString(params, 'type', 128);
  const session = ctx.session(params);
  const obj = ctx.core.create(session, type, params.constructorParams);
  return { value: obj.id, sessionId: session.id };
};
