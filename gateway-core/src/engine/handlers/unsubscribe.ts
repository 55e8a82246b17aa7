import type { Handler } from './context.js';
import { MAX_OBJECT_ID, protoString } from './context.js';

/** `unsubscribe {object, subscription}`; unknown subscriptions are ignored, as KMS does. */
export const unsubscribe: Handler = (params, ctx) => {
  const objectId = protoString(params, 'object', MAX_OBJECT_ID);
  const subscription = protoString(params, 'subscription', 64);
  const session = ctx.session(params);
  ctx.core.subscriptions.remove(session.id, objectId, subscription);
  return { sessionId: session.id };
};
