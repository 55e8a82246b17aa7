import type { Handler } from './context.js';
import { findObject } from './context.js';

/** `describe {object}` → `{type, qualifiedType, hierarchy, sessionId}` (KMS ServerMethods::describe). */
export const describe: Handler = (params, ctx) => {
  const session = ctx.session(params);
  const obj = findObject(ctx, params);
  return {
    sessionId: session.id,
    type: obj.info.type,
    qualifiedType: obj.info.qualifiedType,
    hierarchy: [...obj.info.hierarchy],
  };
};
