import { EventEmitter } from 'node:events';
import type { Logger } from '../util/index.js';
import { KurentoRpcError } from './errors.js';
import { MediaPipeline } from './elements/media-pipeline.js';
import type { MediaObject, ObjectHost } from './elements/media-object.js';
import { PlayerEndpoint } from './elements/player-endpoint.js';
import { FACTORIES, createObject } from './elements/registry.js';
import { ServerManager } from './elements/server-manager.js';
import type { IceServer, MediaPlane } from './media-plane.js';
import { eventFrame } from './protocol.js';
import { SessionRegistry, type Session } from './session.js';
import { SubscriptionTable } from './subscriptions.js';

export interface EngineCoreOptions {
  logger: Logger;
  media: MediaPlane | undefined;
  iceServers: readonly IceServer[];
  additionalHostAddresses: readonly string[];
  sessionGcMs: number;
  maxSessions: number;
  maxObjectsPerSession: number;
  maxSubscriptionsPerSession: number;
}

export interface EngineStats {
  sessions: number;
  objects: number;
  pipelines: number;
  rtspSources: number;
}

export type EngineCoreEvents = {
  /** A session was garbage-collected (or closed) and its objects released. */
  sessionClosed: [sessionId: string, reason: 'expired' | 'closed'];
};

/**
 * Everything the engine holds, independent of the WebSocket server: objects,
 * sessions, subscriptions. Objects reach it through `ObjectHost`.
 */
export class EngineCore extends EventEmitter<EngineCoreEvents> implements ObjectHost {
  readonly logger: Logger;
  readonly media: MediaPlane | undefined;
  readonly iceServers: readonly IceServer[];
  readonly additionalHostAddresses: readonly string[];
  readonly sessions: SessionRegistry;
  readonly subscriptions = new SubscriptionTable();
  readonly serverManager: ServerManager;
  readonly #objects = new Map<string, MediaObject>();
  readonly #opts: EngineCoreOptions;

  constructor(opts: EngineCoreOptions) {
    super();
    this.#opts = opts;
    this.logger = opts.logger;
    this.media = opts.media;
    this.iceServers = opts.iceServers;
    this.additionalHostAddresses = opts.additionalHostAddresses;
    this.sessions = new SessionRegistry({
      sessionGcMs: opts.sessionGcMs,
      maxSessions: opts.maxSessions,
      onExpire: (s) => void this.closeSession(s, 'expired'),
    });
    this.serverManager = new ServerManager(this, {
      pipelineIds: () => [...this.#objects.values()].filter((o) => o instanceof MediaPipeline).map((o) => o.id),
      sessionIds: () => this.sessions.ids(),
      factories: () => {
        const out: Record<'core' | 'elements' | 'filters', string[]> = { core: [], elements: [], filters: [] };
        for (const [name, f] of FACTORIES) out[f.module].push(name);
        return out;
      },
      setCameraProfiles: (profiles) => {
        if (!this.media) throw new KurentoRpcError('NOT_IMPLEMENTED', 'The media plane is not available');
        this.media.sources.setProfiles(profiles);
        this.logger.info('camera profiles set', { cameras: [...profiles.values()].map((c) => c.cameraId) });
      },
    });
    this.#objects.set(this.serverManager.id, this.serverManager);
  }

  find(id: string): MediaObject | undefined {
    return this.#objects.get(id);
  }

  raise(source: MediaObject, type: string, data: Record<string, unknown>): void {
    let frame: string | undefined;
    for (const sub of this.subscriptions.forObject(source.id)) {
      if (sub.type !== type) continue;
      const peer = this.sessions.get(sub.sessionId)?.peer;
      // A detached session misses events, as with KMS; the client re-reads state on resume.
      if (!peer) continue;
      frame ??= eventFrame(source.id, type, data);
      peer.sendEvent(frame);
    }
  }

  forget(obj: MediaObject): void {
    this.#objects.delete(obj.id);
    this.subscriptions.dropObject(obj.id);
    this.sessions.get(obj.ownerSession)?.objects.delete(obj.id);
  }

  create(session: Session, type: string, constructorParams: unknown): MediaObject {
    if (session.objects.size >= this.#opts.maxObjectsPerSession) {
      throw new KurentoRpcError(
        'NOT_ENOUGH_RESOURCES',
        `Too many objects in this session (limit ${this.#opts.maxObjectsPerSession})`,
      );
    }
    const obj = createObject(this, session.id, type, constructorParams);
    this.#objects.set(obj.id, obj);
    session.objects.add(obj.id);
    this.logger.debug('created', { id: obj.id, type: obj.info.type, session: session.id });
    return obj;
  }

  subscribe(session: Session, obj: MediaObject, type: string): string {
    if (!obj.acceptsEvent(type)) {
      throw new KurentoRpcError('MEDIA_OBJECT_EVENT_NOT_SUPPORTED', 'Event not found'); // KMS's message
    }
    if (this.subscriptions.countFor(session.id) >= this.#opts.maxSubscriptionsPerSession) {
      throw new KurentoRpcError(
        'NOT_ENOUGH_RESOURCES',
        `Too many subscriptions in this session (limit ${this.#opts.maxSubscriptionsPerSession})`,
      );
    }
    return this.subscriptions.add(session.id, obj.id, type).id;
  }

  /** Releases an object and its children; unknown ids are ignored, as KMS's MediaSet::release does. */
  async release(id: string): Promise<void> {
    const obj = this.#objects.get(id);
    if (!obj || obj === this.serverManager) return;
    await obj.release();
    this.logger.debug('released', { id });
  }

  /** Releases every object a session created and forgets the session. */
  async closeSession(session: Session, reason: 'expired' | 'closed'): Promise<void> {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session);
    for (const id of [...session.objects]) await this.release(id);
    this.subscriptions.dropSession(session.id);
    this.logger.info('session closed', { session: session.id, reason });
    this.emit('sessionClosed', session.id, reason);
  }

  stats(): EngineStats {
    let pipelines = 0;
    const uris = new Set<string>();
    for (const o of this.#objects.values()) {
      if (o instanceof MediaPipeline) pipelines++;
      if (o instanceof PlayerEndpoint && o.holdsSource) uris.add(o.uri);
    }
    return {
      sessions: this.sessions.size,
      objects: this.#objects.size - 1, // the ServerManager is not counted: it always exists
      pipelines,
      rtspSources: uris.size,
    };
  }

  /** Releases everything (engine shutdown). */
  async close(): Promise<void> {
    this.sessions.clear();
    for (const o of [...this.#objects.values()]) {
      if (o instanceof MediaPipeline) await o.release();
    }
    for (const o of [...this.#objects.values()]) if (o !== this.serverManager) await o.release();
  }
}
