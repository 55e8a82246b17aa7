import { KurentoRpcError } from '../errors.js';
import { SessionRegistry } from '../session.js';
import type { Handler } from './context.js';

/**
 * `connect`: without a sessionId, starts a new session; with one, resumes it
 * on this connection (its events now come here) — or answers KMS's
 * INVALID_SESSION 40007 "Invalid session" (MediaSet::keepAliveSession), on
 * which kurento-client drops its object cache and emits `reconnected(false)`.
 */
export const connect: Handler = (params, ctx) => {
  const sid = params.sessionId;
  if (sid === undefined || sid === null) {
    const session = ctx.core.sessions.obtain();
    ctx.conn.bind(session);
    return { sessionId: session.id, serverId: ctx.serverId };
  }
  const session = SessionRegistry.validId(sid) ? ctx.core.sessions.get(sid) : undefined;
  if (!session) throw new KurentoRpcError('INVALID_SESSION', 'Invalid session');
  ctx.conn.bind(session);
  return { sessionId: session.id, serverId: ctx.serverId };
};
