/**
 * One handler per Kurento method (dispatch table, aedes `lib/handlers/`).
 * A handler checks a request's params against the rules and the session's
 * ownership, and returns the params to forward plus what the session must
 * learn from the response (`Intent`). It throws `PolicyDenied` to refuse.
 */
import type { JsonObject, JsonValue } from './jsonrpc.js';
import { validateMessage } from './jsonrpc.js';
import type { KurentoRules } from './policy-rules.js';
import type { KurentoMethod } from './types.js';
import { SERVER_MANAGER_ID } from './types.js';
import type { ParamContext } from './policy-params.js';
import { checkTalkConnect } from './policy-talk.js';
import {
  CAMERA_URI,
  PolicyDenied,
  canonicalType,
  checkParamTable,
  eventAllowed,
  findOperation,
  isObject,
  newrefIndex,
  onlyKeys,
  requireString,
  safeDetail,
} from './policy-params.js';

/** What observing the response to a forwarded request must record. */
export type Intent =
  | { kind: 'create'; type: string; pipeline: string | undefined; camera?: string }
  | { kind: 'release'; object: string }
  | { kind: 'connect'; sessionId: string | undefined }
  | { kind: 'transaction'; ops: Intent[] }
  | { kind: 'none' };

export interface HandlerContext extends ParamContext {
  rules: KurentoRules;
  /** Index of the current operation inside a transaction; undefined at top level. */
  txIndex: number | undefined;
  /** Objects the session owns plus creations already accepted in this transaction. */
  ownedCount(): number;
  /** Refuses a `sessionId` param that is not the session's own. */
  checkSessionId(value: JsonValue | undefined): void;
  /** Whether `connect` may resume `sessionId` (this session's, or one this policy made). */
  mayResume(sessionId: string): boolean;
  /** The camera of an owned PlayerEndpoint (or `newref:N` to one in this transaction). */
  cameraOf(ref: string): string | undefined;
}

export interface HandlerResult {
  params: JsonObject;
  intent: Intent;
}

export type Handler = (params: JsonObject, ctx: HandlerContext) => HandlerResult;

const NONE: Intent = { kind: 'none' };

/** Resolves `object` to its type, allowing the ServerManager only where `allowManager` says. */
function objectType(ctx: HandlerContext, ref: unknown, where: string): string {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 512) {
    throw new PolicyDenied('malformed', `${where}: "object" must be an object id`);
  }
  const type = ctx.typeOf(ref);
  if (type === undefined) throw new PolicyDenied('object-not-owned', `${where} on ${safeDetail(ref)}`);
  return type;
}

const ping: Handler = (params, ctx) => {
  // Some Kurento clients (the Java client among them) send their sessionId on every request, ping included;
  // a ping naming another session's id is refused like any other cross-session request.
  onlyKeys(params, ['interval', 'sessionId'], 'ping');
  ctx.checkSessionId(params.sessionId);
  if ('interval' in params) {
    const v = params.interval;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new PolicyDenied('param-invalid', 'ping: interval must be an integer >= 0');
    }
  }
  return { params, intent: NONE };
};

const connect: Handler = (params, ctx) => {
  onlyKeys(params, ['sessionId'], 'connect');
  const sid = params.sessionId;
  if (sid === undefined) return { params, intent: { kind: 'connect', sessionId: undefined } };
  if (typeof sid !== 'string' || sid.length === 0 || sid.length > 256) {
    throw new PolicyDenied('malformed', 'connect: sessionId must be a string');
  }
  // Resuming someone else's session would hand over its objects and events.
  if (!ctx.mayResume(sid)) throw new PolicyDenied('session-foreign', 'connect to a session this gateway did not open');
  return { params, intent: { kind: 'connect', sessionId: sid } };
};

const create: Handler = (params, ctx) => {
  onlyKeys(params, ['type', 'constructorParams', 'properties', 'sessionId'], 'create');
  ctx.checkSessionId(params.sessionId);
  const type = canonicalType(ctx.rules, params.type);
  const rule = type === undefined ? undefined : ctx.rules.types[type];
  if (type === undefined || !rule || !rule.creatable) {
    throw new PolicyDenied('type-not-allowed', `create ${safeDetail(params.type)}`);
  }
  if (rule.optIn !== undefined && ctx.media[rule.optIn] !== true) {
    throw new PolicyDenied('type-disabled', `create ${type} needs the gateway option ${rule.optIn}`);
  }
  if (ctx.ownedCount() >= ctx.rules.maxObjectsPerSession) {
    throw new PolicyDenied('quota', `more than ${ctx.rules.maxObjectsPerSession} objects`);
  }
  const raw = params.constructorParams ?? {};
  if (!isObject(raw)) throw new PolicyDenied('malformed', 'create: constructorParams must be an object');
  const constructorParams = checkParamTable(rule.constructorParams ?? {}, raw, `create ${type}`, ctx, ctx.rules);
  for (const req of rule.requiredParams ?? []) {
    if (!(req in constructorParams)) throw new PolicyDenied('param-missing', `create ${type}: ${req}`);
  }
  // `properties` are set on the object by the server; the official client sends {} and viewing needs none.
  if ('properties' in params && !(isObject(params.properties) && Object.keys(params.properties).length === 0)) {
    throw new PolicyDenied('param-not-allowed', `create ${type}: properties`);
  }
  const out: JsonObject = { ...params, type };
  if ('constructorParams' in params) out.constructorParams = constructorParams;
  const pipeline = typeof constructorParams.mediaPipeline === 'string' ? constructorParams.mediaPipeline : undefined;
  // A player remembers its camera: talking into it needs the talk grant for that camera (policy-talk.ts).
  const camera = typeof raw.uri === 'string' ? CAMERA_URI.exec(raw.uri)?.[1] : undefined;
  return { params: out, intent: { kind: 'create', type, pipeline, ...(camera ? { camera } : {}) } };
};

const invoke: Handler = (params, ctx) => {
  onlyKeys(params, ['object', 'operation', 'operationParams', 'sessionId'], 'invoke');
  ctx.checkSessionId(params.sessionId);
  const operation = requireString(params, 'operation', 'invoke', 128);
  const raw = params.operationParams ?? {};
  if (!isObject(raw)) throw new PolicyDenied('malformed', 'invoke: operationParams must be an object');
  if (params.object === SERVER_MANAGER_ID) {
    const op = Object.hasOwn(ctx.rules.serverManager.operations, operation)
      ? ctx.rules.serverManager.operations[operation]
      : undefined;
    if (!op) throw new PolicyDenied('server-manager', `invoke ${safeDetail(operation)}`);
    checkParamTable(op.params ?? {}, raw, `invoke ${operation}`, ctx, ctx.rules);
    return { params, intent: NONE };
  }
  const type = objectType(ctx, params.object, `invoke ${safeDetail(operation)}`);
  const op = findOperation(ctx.rules, type, operation);
  if (!op) throw new PolicyDenied('operation-not-allowed', `${type}.${safeDetail(operation)}`);
  const operationParams = checkParamTable(op.params ?? {}, raw, `${type}.${operation}`, ctx, ctx.rules);
  if (operation === 'connect') checkTalkConnect(type, operationParams, ctx);
  const out: JsonObject = { ...params };
  if ('operationParams' in params) out.operationParams = operationParams;
  return { params: out, intent: NONE };
};

const subscribe: Handler = (params, ctx) => {
  onlyKeys(params, ['object', 'type', 'sessionId'], 'subscribe');
  ctx.checkSessionId(params.sessionId);
  const event = requireString(params, 'type', 'subscribe', 128);
  // The ServerManager's ObjectCreated/ObjectDestroyed name every session's objects.
  if (params.object === SERVER_MANAGER_ID) throw new PolicyDenied('server-manager', `subscribe ${safeDetail(event)}`);
  const type = objectType(ctx, params.object, `subscribe ${safeDetail(event)}`);
  if (!eventAllowed(ctx.rules, type, event))
    throw new PolicyDenied('event-not-allowed', `${type}.${safeDetail(event)}`);
  return { params, intent: NONE };
};

const unsubscribe: Handler = (params, ctx) => {
  onlyKeys(params, ['object', 'subscription', 'sessionId'], 'unsubscribe');
  ctx.checkSessionId(params.sessionId);
  requireString(params, 'subscription', 'unsubscribe', 512);
  objectType(ctx, params.object, 'unsubscribe');
  return { params, intent: NONE };
};

const release: Handler = (params, ctx) => {
  onlyKeys(params, ['object', 'sessionId'], 'release');
  ctx.checkSessionId(params.sessionId);
  if (params.object === SERVER_MANAGER_ID) throw new PolicyDenied('server-manager', 'release');
  objectType(ctx, params.object, 'release');
  return { params, intent: { kind: 'release', object: params.object as string } };
};

const describe: Handler = (params, ctx) => {
  onlyKeys(params, ['object', 'sessionId'], 'describe');
  ctx.checkSessionId(params.sessionId);
  if (params.object === SERVER_MANAGER_ID) {
    if (!ctx.rules.serverManager.describe) throw new PolicyDenied('server-manager', 'describe');
    return { params, intent: NONE };
  }
  objectType(ctx, params.object, 'describe');
  return { params, intent: NONE };
};

/** Methods a transaction may contain: no nesting, no session changes. */
const IN_TRANSACTION: ReadonlySet<string> = new Set([
  'create',
  'invoke',
  'subscribe',
  'unsubscribe',
  'release',
  'describe',
]);

const transaction: Handler = (params, ctx) => {
  onlyKeys(params, ['operations', 'sessionId'], 'transaction');
  ctx.checkSessionId(params.sessionId);
  const ops = params.operations;
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > ctx.rules.maxTransactionOperations) {
    throw new PolicyDenied('transaction', `operations must be 1..${ctx.rules.maxTransactionOperations} requests`);
  }
  /** Types created by earlier operations, by index: what `newref:N` may name. */
  const created = new Map<number, string>();
  const createdCameras = new Map<number, string>();
  const outOps: JsonValue[] = [];
  const intents: Intent[] = [];
  ops.forEach((raw, index) => {
    if (!isObject(raw)) throw new PolicyDenied('transaction', `operation ${index} is not an object`);
    let op;
    try {
      op = validateMessage(raw);
    } catch {
      throw new PolicyDenied('transaction', `operation ${index} is not a JSON-RPC request`);
    }
    // newref:N names operation N by its position; the official client sets id = position, we insist on it.
    if (!('method' in op) || !('id' in op) || op.id !== index) {
      throw new PolicyDenied('transaction', `operation ${index} must be a request with id ${index}`);
    }
    if (!IN_TRANSACTION.has(op.method) || !Object.hasOwn(ctx.rules.methods, op.method)) {
      throw new PolicyDenied('method-not-allowed', `${safeDetail(op.method)} in a transaction`);
    }
    const opParams = op.params ?? {};
    if (!isObject(opParams)) throw new PolicyDenied('malformed', `operation ${index}: params must be an object`);
    const inner: HandlerContext = {
      ...ctx,
      txIndex: index,
      ownedCount: () => ctx.ownedCount() + created.size,
      typeOf: (ref) => {
        const n = newrefIndex(ref);
        if (n === undefined) return ctx.typeOf(ref);
        // Only backward references to creations in this same transaction.
        return n >= 0 && n < index ? created.get(n) : undefined;
      },
      cameraOf: (ref) => {
        const n = newrefIndex(ref);
        if (n === undefined) return ctx.cameraOf(ref);
        return n >= 0 && n < index ? createdCameras.get(n) : undefined;
      },
    };
    const result = HANDLERS[op.method as KurentoMethod](opParams, inner);
    if (result.intent.kind === 'create') {
      created.set(index, result.intent.type);
      if (result.intent.camera !== undefined) createdCameras.set(index, result.intent.camera);
    }
    intents.push(result.intent);
    outOps.push({ jsonrpc: '2.0', id: index, method: op.method, params: result.params });
  });
  return { params: { ...params, operations: outOps }, intent: { kind: 'transaction', ops: intents } };
};

/** The dispatch table. */
export const HANDLERS: Readonly<Record<KurentoMethod, Handler>> = {
  ping,
  connect,
  create,
  invoke,
  subscribe,
  unsubscribe,
  release,
  describe,
  transaction,
};
