import { requireInt } from '../params.js';
import type { Handler } from './context.js';

/** Longest keep-alive interval a client may announce: 1 h. */
const MAX_INTERVAL_MS = 3_600_000;

/**
 * `ping`: answers `pong`. Its optional `interval` is the client's keep-alive
 * period (kurento-client sends 5000 on its first ping); it stretches how long
 * the session survives a dropped connection (session.ts, KEEPALIVE_FACTOR).
 * Like KMS, the answer carries the connection's sessionId when it has one.
 */
export const ping: Handler = (params, ctx) => {
  if (params.interval !== undefined && params.interval !== null) {
    ctx.conn.pingIntervalMs = requireInt(params, 'interval', 0, MAX_INTERVAL_MS);
  }
  const sessionId = ctx.conn.session?.id;
  return sessionId ? { value: 'pong', sessionId } : { value: 'pong' };
};
