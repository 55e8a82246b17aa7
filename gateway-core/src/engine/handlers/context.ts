import type { EngineCore } from '../core.js';
import { KurentoRpcError, objectNotFound } from '../errors.js';
import type { MediaObject } from '../elements/media-object.js';
import type { Params } from '../params.js';
import type { Session } from '../session.js';

/** The connection a request arrived on, as handlers see it. */
export interface RequestConnection {
  /** Ping interval the client announced (ms). */
  pingIntervalMs: number;
  readonly session: Session | undefined;
  /** Makes `session` this connection's session; its events now come here. */
  bind(session: Session): void;
  unbind(): void;
}

export interface HandlerContext {
  readonly core: EngineCore;
  readonly conn: RequestConnection;
  /** Identifies this engine instance (`connect` answers it as KMS's `serverId`). */
  readonly serverId: string;
  /** The request's session: `params.sessionId`, else the connection's, else a new one (KMS getOrCreateSessionId). */
  session(params: Params): Session;
  /** Runs another method (transactions). */
  dispatch(method: string, params: Params): Promise<Record<string, unknown>>;
}

export type Handler = (
  params: Params,
  ctx: HandlerContext,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** Protocol-level parameters (`object`, `type`, `operation`…): JSON-RPC invalid params (−32602) when wrong. */
export function protoString(params: Params, name: string, maxLength: number): string {
  const v = params[name];
  if (typeof v !== 'string' || v.length === 0) {
    throw new KurentoRpcError('INVALID_PARAMS', `'${name}' parameter is required and must be a string`);
  }
  if (v.length > maxLength) throw new KurentoRpcError('INVALID_PARAMS', `'${name}' parameter is too long`);
  return v;
}

/** Object ids are `<uuid>_kurento.Type` or `<pipeline>/<uuid>_kurento.Type`: well under 512 chars. */
export const MAX_OBJECT_ID = 512;

export function findObject(ctx: HandlerContext, params: Params): MediaObject {
  const id = protoString(params, 'object', MAX_OBJECT_ID);
  const obj = ctx.core.find(id);
  if (!obj) throw objectNotFound(id);
  return obj;
}
