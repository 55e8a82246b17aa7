import { KurentoRpcError } from '../errors.js';
import { closeSession } from './close-session.js';
import { connect } from './connect.js';
import type { Handler } from './context.js';
import { create } from './create.js';
import { describe } from './describe.js';
import { invoke } from './invoke.js';
import { ping } from './ping.js';
import { release } from './release.js';
import { subscribe } from './subscribe.js';
import { transaction } from './transaction.js';
import { unsubscribe } from './unsubscribe.js';

/** One handler per Kurento JSON-RPC method (KMS ServerMethods' method table). */
export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['ping', ping],
  ['connect', connect],
  ['create', create],
  ['invoke', invoke],
  ['subscribe', subscribe],
  ['unsubscribe', unsubscribe],
  ['release', release],
  ['describe', describe],
  ['transaction', transaction],
  ['closeSession', closeSession],
]);

export function handlerFor(method: string): Handler {
  const h = HANDLERS.get(method);
  // JSON-RPC 2.0 §5.1
  if (!h) throw new KurentoRpcError('METHOD_NOT_FOUND', 'Method not found');
  return h;
}

export type { Handler, HandlerContext, RequestConnection } from './context.js';
