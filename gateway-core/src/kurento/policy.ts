/**
 * The Kurento policy the gateway applies to every message the hub sends
 * toward the media backend (ARCHITECTURE.md §3). A `KurentoPolicy` holds the
 * rules, the camera resolver and what is shared between sessions; each
 * Kurento connection relayed through the tunnel gets its own `PolicySession`,
 * which owns the object ids its requests created.
 */
import type { Logger } from '../util/index.js';
import { defaultLogger } from '../util/index.js';
import type {
  JsonObject,
  JsonRpcErrorResponse,
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
  JsonValue,
} from './jsonrpc.js';
import { errorResponse } from './jsonrpc.js';
import type { KurentoRules } from './policy-rules.js';
import { DEFAULT_KURENTO_RULES } from './policy-rules.js';
import type { HandlerContext, Intent } from './policy-handlers.js';
import { HANDLERS } from './policy-handlers.js';
import { PolicyDenied, isObject, newrefIndex, safeDetail } from './policy-params.js';
import type { MediaTargetRules } from './policy-targets.js';
import { STRICT_MEDIA_TARGET_RULES } from './policy-targets.js';
import type { PolicySessionOptions } from './policy-talk.js';
import { CameraUriRegistry } from './sanitize.js';
import type { KurentoMethod } from './types.js';
import { KURENTO_METHODS, POLICY_DENIED_RPC_CODE } from './types.js';

/** Looks up a registered camera; the gateway's camera registry implements it. */
export interface CameraResolver {
  /** The real `rtsp://user:pass@host/...` URL of camera `cameraId`, or undefined when there is no such camera. */
  resolveCameraUri(cameraId: string): string | undefined;
}

export interface KurentoPolicyOptions {
  /** Resolves `camera://ID` to the camera's real URL. */
  cameras: CameraResolver;
  /** The allow-list; `DEFAULT_KURENTO_RULES` when omitted. */
  rules?: KurentoRules;
  /**
   * Where the hub may make the media backend send traffic: TURN/STUN servers, LAN addresses in ICE candidates
   * and SDP, RtpEndpoint (policy-targets.ts). `STRICT_MEDIA_TARGET_RULES` (nothing) when omitted; the gateway
   * passes its own from its configuration.
   */
  media?: MediaTargetRules;
  /** Refusals are logged at `warn` (rule and detail only, never a URL). */
  logger?: Logger;
}

export type PolicyVerdict =
  { action: 'forward'; message: JsonRpcRequest } | { action: 'deny'; response: JsonRpcErrorResponse; rule: string };

/** An object a session created: its canonical type and, for elements, its pipeline. */
interface OwnedObject {
  type: string;
  pipeline: string | undefined;
  /** For a PlayerEndpoint: the camera of its `camera://ID`. */
  camera?: string;
}

/** Ownership is per Kurento session; a reconnect that resumes the session keeps it. */
class OwnershipState {
  readonly objects = new Map<string, OwnedObject>();
}

/** How many Kurento sessions the policy remembers for `connect` resumption. */
const MAX_REMEMBERED_SESSIONS = 1024;
/** How many forwarded-but-unanswered requests a session remembers. */
const MAX_PENDING = 1024;

/** Stable code on refusals, in `error.data.code`. */
export const POLICY_DENIED_CODE = 'CAMGATE_POLICY_DENIED';

export class KurentoPolicy {
  readonly rules: KurentoRules;
  readonly media: MediaTargetRules;
  readonly #cameras: CameraResolver;
  readonly #logger: Logger;
  readonly #uris = new CameraUriRegistry();
  readonly #sessions = new Map<string, OwnershipState>();
  /** Which open PolicySession (relayed connection) currently holds each Kurento session. */
  readonly #holders = new Map<string, PolicySession>();

  constructor(opts: KurentoPolicyOptions) {
    if (!opts || typeof opts !== 'object') throw new TypeError('KurentoPolicy options: an object is required');
    if (!opts.cameras || typeof opts.cameras.resolveCameraUri !== 'function') {
      throw new TypeError('KurentoPolicy option cameras: must have a resolveCameraUri(cameraId) function');
    }
    if (opts.rules !== undefined && (typeof opts.rules !== 'object' || typeof opts.rules.types !== 'object')) {
      throw new TypeError('KurentoPolicy option rules: must be a KurentoRules object');
    }
    const media = opts.media;
    if (
      media !== undefined &&
      (typeof media !== 'object' ||
        typeof media.relayAllowed !== 'function' ||
        typeof media.allowLanViewers !== 'boolean' ||
        typeof media.allowRtpEndpoint !== 'boolean')
    ) {
      throw new TypeError(
        'KurentoPolicy option media: must be {relayAllowed(host, port), allowLanViewers: boolean, allowRtpEndpoint: boolean}',
      );
    }
    this.media = media ?? STRICT_MEDIA_TARGET_RULES;
    this.rules = opts.rules ?? DEFAULT_KURENTO_RULES;
    this.#cameras = opts.cameras;
    this.#logger = opts.logger ?? defaultLogger('kurento:policy');
  }

  /**
   * A new session for one relayed Kurento connection; `opts.talkCameras` is the hub's talk grant for it (the
   * channel's meta, `talkGrantFromMeta`).
   */
  createSession(opts: PolicySessionOptions = {}): PolicySession {
    const talk = opts.talkCameras ?? [];
    if (!Array.isArray(talk) || !talk.every((c) => typeof c === 'string')) {
      throw new TypeError('createSession option talkCameras: must be a list of camera ids');
    }
    return new PolicySession(this, this.#logger, new Set(talk));
  }

  /** @internal resolves a camera and remembers its real URL for sanitising. */
  resolveCamera(cameraId: string): string | undefined {
    let real: string | undefined;
    try {
      real = this.#cameras.resolveCameraUri(cameraId);
    } catch (err) {
      this.#logger.warn('camera resolver failed', { cameraId, err });
      return undefined;
    }
    if (typeof real !== 'string' || real.length === 0) return undefined;
    this.#uris.add(cameraId, real);
    return real;
  }

  /** @internal */
  scrub<T extends JsonValue>(value: T): T {
    return this.#uris.scrub(value);
  }

  /** @internal */
  rememberSession(sessionId: string, state: OwnershipState): void {
    this.#sessions.delete(sessionId);
    this.#sessions.set(sessionId, state);
    while (this.#sessions.size > MAX_REMEMBERED_SESSIONS) {
      this.#sessions.delete(this.#sessions.keys().next().value as string);
    }
  }

  /** @internal */
  sessionState(sessionId: string): OwnershipState | undefined {
    return this.#sessions.get(sessionId);
  }

  /** @internal `holder` now carries `sessionId` (first answer naming it, or a resume). */
  hold(sessionId: string, holder: PolicySession): void {
    this.#holders.set(sessionId, holder);
  }

  /** @internal the connection of `holder` ended: its session may now be resumed by a new connection. */
  letGo(sessionId: string, holder: PolicySession): void {
    if (this.#holders.get(sessionId) === holder) this.#holders.delete(sessionId);
  }

  /**
   * A session may be resumed (`connect {sessionId}`) only when this gateway
   * opened it and no open connection holds it any more. Knowing a live
   * session's id is then not enough to take it over: its own connection has
   * to be gone first, which is what a real reconnect looks like (the old
   * channel closed when the tunnel or the client's socket dropped).
   */
  mayResume(sessionId: string, asker: PolicySession): boolean {
    if (this.#sessions.get(sessionId) === undefined) return false;
    const holder = this.#holders.get(sessionId);
    return holder === undefined || holder === asker;
  }
}

export class PolicySession {
  readonly #policy: KurentoPolicy;
  readonly #logger: Logger;
  readonly #talkCameras: ReadonlySet<string>;
  #state = new OwnershipState();
  #sessionId: string | undefined;
  #closed = false;
  /** A session of this gateway named by a request before any response named ours (see checkSessionId). */
  #resuming: string | undefined;
  /** Intents of forwarded requests, by the forwarded message object, then by id as a fallback. */
  readonly #byMessage = new WeakMap<object, Intent>();
  readonly #byId = new Map<string | number, Intent>();

  /** @internal use `KurentoPolicy.createSession()`. */
  constructor(policy: KurentoPolicy, logger: Logger, talkCameras: ReadonlySet<string> = new Set()) {
    this.#policy = policy;
    this.#logger = logger;
    this.#talkCameras = talkCameras;
  }

  /** Cameras this session may talk through (the hub's talk grant for its channel). */
  get talkCameras(): readonly string[] {
    return [...this.#talkCameras];
  }

  /** The Kurento session id the backend assigned, once a response carried it. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** Ids to release if the viewer vanishes (pipelines first: releasing one releases its elements). */
  ownedObjects(): string[] {
    const entries = [...this.#state.objects.entries()];
    return [
      ...entries.filter(([, o]) => o.type === 'MediaPipeline').map(([id]) => id),
      ...entries.filter(([, o]) => o.type !== 'MediaPipeline').map(([id]) => id),
    ];
  }

  /** Decides one hub → backend message: forward (possibly rewritten) or deny with a ready error response. */
  check(req: JsonRpcRequest | JsonRpcNotification): PolicyVerdict {
    const id = 'id' in req && (typeof req.id === 'string' || typeof req.id === 'number') ? req.id : null;
    try {
      // Kurento clients never send notifications to the server; there is nothing legitimate to forward.
      if (id === null) throw new PolicyDenied('notification', `${safeDetail(req.method)} without id`);
      const method = req.method;
      if (
        !(KURENTO_METHODS as readonly string[]).includes(method) ||
        !Object.hasOwn(this.#policy.rules.methods, method)
      ) {
        throw new PolicyDenied('method-not-allowed', safeDetail(method));
      }
      const params = req.params ?? {};
      if (!isObject(params)) throw new PolicyDenied('malformed', 'params must be an object');
      const result = HANDLERS[method as KurentoMethod](params, this.#context());
      const message: JsonRpcRequest = { jsonrpc: '2.0', id, method };
      if (req.params !== undefined) message.params = result.params;
      this.#remember(message, result.intent);
      return { action: 'forward', message };
    } catch (err) {
      const denied = err instanceof PolicyDenied ? err : new PolicyDenied('malformed', 'request could not be checked');
      if (!(err instanceof PolicyDenied)) this.#logger.warn('policy check failed', { err });
      this.#logger.warn('request refused', { rule: denied.rule, detail: denied.detail, sessionId: this.#sessionId });
      const response = errorResponse(id, POLICY_DENIED_RPC_CODE, `camgate policy: ${denied.rule} (${denied.detail})`, {
        code: POLICY_DENIED_CODE,
        rule: denied.rule,
      });
      return { action: 'deny', response, rule: denied.rule };
    }
  }

  /** Learns from the backend's answer to a forwarded request: created and released ids, the session id. */
  observeResponse(req: JsonRpcRequest, res: JsonRpcResponse): void {
    const intent = this.#byMessage.get(req) ?? this.#byId.get(req.id);
    this.#byId.delete(req.id);
    if (!('result' in res)) return;
    const result = res.result;
    if (isObject(result) && typeof result.sessionId === 'string') this.#adoptSession(result.sessionId, intent);
    if (!intent) return;
    const value = isObject(result) ? result.value : undefined;
    if (intent.kind === 'transaction') {
      this.#observeTransaction(intent.ops, value);
    } else {
      this.#apply(intent, value, new Map());
    }
  }

  /** A copy of a backend response with real camera URLs and credentials replaced. */
  sanitizeResponse(res: JsonRpcResponse): JsonRpcResponse {
    return this.#policy.scrub(res as unknown as JsonValue) as unknown as JsonRpcResponse;
  }

  /** A copy of a backend notification (`onEvent`) with real camera URLs and credentials replaced. */
  sanitizeNotification(n: JsonRpcNotification): JsonRpcNotification {
    return this.#policy.scrub(n as unknown as JsonValue) as unknown as JsonRpcNotification;
  }

  #context(): HandlerContext {
    const policy = this.#policy;
    return {
      rules: policy.rules,
      media: policy.media,
      txIndex: undefined,
      typeOf: (ref) => (newrefIndex(ref) === undefined ? this.#state.objects.get(ref)?.type : undefined),
      cameraOf: (ref) => (newrefIndex(ref) === undefined ? this.#state.objects.get(ref)?.camera : undefined),
      talkCameras: this.#talkCameras,
      resolveCamera: (cameraId) => policy.resolveCamera(cameraId),
      ownedCount: () => this.#state.objects.size,
      checkSessionId: (value) => {
        if (value === undefined || value === this.#sessionId) return;
        // Before the backend has named our session, a session this gateway opened may be named: after a media
        // backend restart kurento-client's `connect` gets INVALID_SESSION (40007), it keeps its sessionId and
        // sends it with its next request, which KMS (MediaSet::ref) and our engine take as that session.
        // Any other id, or a second one once a session is known, belongs to someone else.
        if (
          typeof value === 'string' &&
          this.#sessionId === undefined &&
          (this.#resuming ?? value) === value &&
          // …and only once no open connection holds it (mayResume): a live session's id is not enough.
          policy.mayResume(value, this)
        ) {
          this.#resuming = value;
          return;
        }
        throw new PolicyDenied('session-foreign', 'sessionId is not this session');
      },
      mayResume: (sid) => sid === this.#sessionId || policy.mayResume(sid, this),
    };
  }

  #remember(message: JsonRpcRequest, intent: Intent): void {
    if (intent.kind === 'none') return;
    this.#byMessage.set(message, intent);
    this.#byId.delete(message.id);
    this.#byId.set(message.id, intent);
    while (this.#byId.size > MAX_PENDING) this.#byId.delete(this.#byId.keys().next().value as string | number);
  }

  #adoptSession(sessionId: string, intent: Intent | undefined): void {
    if (sessionId.length === 0 || sessionId.length > 256) return;
    const resumed = (intent?.kind === 'connect' && intent.sessionId === sessionId) || this.#resuming === sessionId;
    this.#resuming = undefined;
    if (resumed) {
      // A resumed session: take over what it owns, keeping anything created meanwhile.
      const previous = this.#policy.sessionState(sessionId);
      if (previous && previous !== this.#state) {
        for (const [id, o] of this.#state.objects) previous.objects.set(id, o);
        this.#state = previous;
      }
    }
    if (this.#sessionId !== sessionId) {
      if (this.#sessionId !== undefined) this.#policy.letGo(this.#sessionId, this);
      this.#sessionId = sessionId;
      this.#policy.rememberSession(sessionId, this.#state);
    }
    if (!this.#closed) this.#policy.hold(sessionId, this);
  }

  /** The relayed connection ended: another connection may now resume this session. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sessionId !== undefined) this.#policy.letGo(this.#sessionId, this);
  }

  #observeTransaction(intents: Intent[], value: JsonValue | undefined): void {
    if (!Array.isArray(value)) return;
    const created = new Map<number, string>();
    intents.forEach((intent, index) => {
      const entry = value[index];
      if (!isObject(entry) || !isObject(entry.result)) return;
      const id = this.#apply(intent, entry.result.value, created);
      if (id !== undefined) created.set(index, id);
    });
  }

  /** Applies one intent given the response value; returns the id of a created object. */
  #apply(intent: Intent, value: JsonValue | undefined, created: Map<number, string>): string | undefined {
    const deref = (ref: string): string => {
      const n = newrefIndex(ref);
      return n === undefined ? ref : (created.get(n) ?? ref);
    };
    if (intent.kind === 'create') {
      if (typeof value !== 'string' || value.length === 0 || value.length > 512) return undefined;
      const pipeline = intent.pipeline === undefined ? undefined : deref(intent.pipeline);
      this.#state.objects.set(value, {
        type: intent.type,
        pipeline,
        ...(intent.camera !== undefined ? { camera: intent.camera } : {}),
      });
      return value;
    }
    if (intent.kind === 'release') {
      const id = deref(intent.object);
      this.#state.objects.delete(id);
      // Releasing a pipeline releases its elements on the server too.
      for (const [child, o] of this.#state.objects) if (o.pipeline === id) this.#state.objects.delete(child);
    }
    return undefined;
  }
}

/**
 * What a refusal response's `data` looks like.
 * @protocol
 */
export interface PolicyDeniedData extends JsonObject {
  code: typeof POLICY_DENIED_CODE;
  rule: string;
}
