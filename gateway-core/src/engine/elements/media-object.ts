import type { Logger } from '../../util/index.js';
import { KurentoRpcError, clip } from '../errors.js';
import type { IceServer, MediaPlane } from '../media-plane.js';
import { requireBoolean, requireString, type Params } from '../params.js';
import type { TypeInfo } from './types.js';

/** What every object may ask of the engine that holds it. */
export interface ObjectHost {
  readonly logger: Logger;
  /** Undefined until a media plane is available: media methods then answer NOT_IMPLEMENTED. */
  readonly media: MediaPlane | undefined;
  readonly iceServers: readonly IceServer[];
  readonly additionalHostAddresses: readonly string[];
  find(id: string): MediaObject | undefined;
  /** Delivers an event to the sessions subscribed to `source`/`type`. */
  raise(source: MediaObject, type: string, data: Record<string, unknown>): void;
  /** Removes a released object from the engine's tables. */
  forget(obj: MediaObject): void;
}

export type MethodHandler = (params: Params) => unknown;

/** Bounds on what a client may store on an object (tags are free-form strings). */
const MAX_TAGS = 64;
const MAX_TAG_CHARS = 1024;

/**
 * Base of every Kurento object: identity, tags and name, the method table and
 * release. Subclasses add methods with `define()` and tear down in `onRelease()`.
 */
export abstract class MediaObject {
  readonly id: string;
  /** The session that created the object; its garbage collection releases it. */
  readonly ownerSession: string;
  readonly info: TypeInfo;
  readonly parent: MediaObject | undefined;
  protected readonly host: ObjectHost;
  readonly #methods = new Map<string, MethodHandler>();
  readonly #tags = new Map<string, string>();
  readonly #children = new Set<MediaObject>();
  readonly #creationTime = Math.floor(Date.now() / 1000); // seconds, like KMS's creationTime
  #name: string;
  #sendTagsInEvents = false;
  #released = false;

  protected constructor(host: ObjectHost, info: TypeInfo, id: string, ownerSession: string, parent?: MediaObject) {
    this.host = host;
    this.info = info;
    this.id = id;
    this.ownerSession = ownerSession;
    this.parent = parent;
    this.#name = id;
    if (parent) parent.#children.add(this);
    this.define('getName', () => this.#name);
    this.define('setName', (p) => {
      this.#name = requireString(p, 'name', MAX_TAG_CHARS);
    });
    this.define('getSendTagsInEvents', () => this.#sendTagsInEvents);
    this.define('setSendTagsInEvents', (p) => {
      this.#sendTagsInEvents = requireBoolean(p, 'sendTagsInEvents');
    });
    this.define('getCreationTime', () => this.#creationTime);
    this.define('getParent', () => this.parent?.id ?? null);
    this.define('getMediaPipeline', () => this.pipelineId());
    this.define('getChildren', () => [...this.#children].map((c) => c.id));
    this.define('getId', () => this.id);
    this.define('addTag', (p) => {
      const key = requireString(p, 'key', MAX_TAG_CHARS);
      const value = requireString(p, 'value', MAX_TAG_CHARS);
      if (!this.#tags.has(key) && this.#tags.size >= MAX_TAGS) {
        throw new KurentoRpcError('NOT_ENOUGH_RESOURCES', `At most ${MAX_TAGS} tags per object`);
      }
      this.#tags.set(key, value);
    });
    this.define('removeTag', (p) => {
      this.#tags.delete(requireString(p, 'key', MAX_TAG_CHARS));
    });
    this.define('getTag', (p) => {
      const key = requireString(p, 'key', MAX_TAG_CHARS);
      const v = this.#tags.get(key);
      if (v === undefined) throw new KurentoRpcError('MEDIA_OBJECT_TAG_KEY_NOT_FOUND', `Tag key not found`);
      return v;
    });
    this.define('getTags', () => this.tags());
  }

  get released(): boolean {
    return this.#released;
  }

  get children(): readonly MediaObject[] {
    return [...this.#children];
  }

  /** The id of the pipeline this object lives in (itself for a pipeline). */
  pipelineId(): string | null {
    return this.parent ? this.parent.pipelineId() : null;
  }

  tags(): { key: string; value: string }[] {
    return [...this.#tags].map(([key, value]) => ({ key, value }));
  }

  get sendTagsInEvents(): boolean {
    return this.#sendTagsInEvents;
  }

  protected define(name: string, handler: MethodHandler): void {
    this.#methods.set(name, handler);
  }

  /** Methods the kmd lists but the engine deliberately does not provide (debug dumps echo URIs). */
  protected refuse(names: readonly string[], why: string): void {
    for (const n of names) {
      this.#methods.set(n, () => {
        throw new KurentoRpcError('NOT_IMPLEMENTED', `${n} is not implemented by the camgate engine: ${why}`);
      });
    }
  }

  /** Runs one `invoke`; the returned value becomes `result.value`. */
  async invoke(operation: string, params: Params): Promise<unknown> {
    if (this.#released) throw new KurentoRpcError('MEDIA_OBJECT_NOT_FOUND', `Object '${clip(this.id)}' not found`);
    const handler = this.#methods.get(operation);
    if (!handler) {
      // KMS's generated invoker: "Method '<op>' with <n> parameters not found"
      throw new KurentoRpcError(
        'MEDIA_OBJECT_METHOD_NOT_FOUND',
        `Method '${clip(operation, 64)}' with ${Object.keys(params).length} parameters not found`,
      );
    }
    const value = await handler(params);
    return value === undefined ? null : value;
  }

  acceptsEvent(type: string): boolean {
    return this.info.events.includes(type);
  }

  /** Raises a Kurento event: RaiseBase fields (core.kmd.json) are added here. */
  protected raise(type: string, data: Record<string, unknown> = {}): void {
    if (this.#released) return;
    const now = Date.now();
    this.host.raise(this, type, {
      source: this.id,
      type,
      tags: this.#sendTagsInEvents ? this.tags() : [],
      timestamp: String(Math.floor(now / 1000)),
      timestampMillis: String(now),
      // After the RaiseBase fields: the Error event's own `type` (the error's type) wins, as in KMS.
      ...data,
    });
  }

  /** Releases children first, then this object. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    for (const child of [...this.#children]) await child.release();
    this.#released = true;
    if (this.parent) this.parent.#children.delete(this);
    try {
      await this.onRelease();
    } catch (err) {
      this.host.logger.warn('release failed', { id: this.id, err });
    }
    this.host.forget(this);
  }

  /** Tears down media resources; called once. */
  protected async onRelease(): Promise<void> {}
}
