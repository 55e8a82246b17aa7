import type { Handler } from './context.js';

/**
 * `closeSession {sessionId, release?}`: ends the session now. KMS releases
 * (`release: true`) or unreferences the session's objects; the engine's
 * objects have a single owner, so both release them.
 */
export const closeSession: Handler = async (params, ctx) => {
  const session = ctx.session(params);
  ctx.conn.unbind();
  await ctx.core.closeSession(session, 'closed');
  return { sessionId: session.id };
};
