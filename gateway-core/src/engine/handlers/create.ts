import type { Handler } from './context.js';
import { protoString } from './context.js';

/** `create {type, constructorParams}` → `{value: <new object id>, sessionId}`. */
export const create: Handler = async (params, ctx) => {
  const type = protoString(params, 'type', 128);
  const session = ctx.session(params);
  await ctx.core.media?.ready?.(); // the media plane's code, loaded by the first create (default-media.ts)
  const obj = ctx.core.create(session, type, params.constructorParams);
  return { value: obj.id, sessionId: session.id };
};
