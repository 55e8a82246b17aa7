import type { Handler } from './context.js';
import { MAX_OBJECT_ID, protoString } from './context.js';

/**
 * `release {object}`: releases the object and, for a pipeline, its elements.
 * An unknown or already released id is not an error (KMS MediaSet::release).
 */
export const release: Handler = async (params, ctx) => {
  const objectId = protoString(params, 'object', MAX_OBJECT_ID);
  const session = ctx.session(params);
  await ctx.core.release(objectId);
  return { sessionId: session.id };
};
