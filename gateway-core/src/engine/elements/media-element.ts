import { KurentoRpcError, clip, objectNotFound } from '../errors.js';
import type { AccessUnit, AudioSinkLike, RtspSourceHandleLike } from '../media-plane.js';
import {
  optionalInt,
  optionalMediaType,
  optionalString,
  requireString,
  type MediaType,
  type Params,
} from '../params.js';
import { MediaObject, type ObjectHost } from './media-object.js';
import type { TypeInfo } from './types.js';

export type FlowState = 'FLOWING' | 'NOT_FLOWING';

interface Link {
  readonly mediaType: MediaType | undefined;
  /** Set while media actually moves over this link (source playing, sink able to take it). */
  unsubscribe: (() => void) | undefined;
}

/** Bitrate bounds clients commonly set; stored and reported, the engine never transcodes. */
const BITRATE_PROPERTIES = ['encoderBitrate', 'minEncoderBitrate', 'maxEncoderBitrate'] as const;

/**
 * A MediaElement: something in a pipeline that media flows out of and/or
 * into. A `connect(sink)` is a logical link; media moves over it as soon as
 * the source has a stream (`mediaSource()`) and the sink can take one
 * (`mediaSink()`), whichever comes first — a client may connect before
 * `play()` or before `processOffer()`. Subclasses call `refreshLinks()`
 * whenever either side changes. An RtpEndpoint (SRTP to Apple devices) fits
 * the same two hooks.
 */
export abstract class MediaElement extends MediaObject {
  readonly #sinks = new Map<MediaElement, Link>();
  readonly #sources = new Set<MediaElement>();
  readonly #intProps = new Map<string, number>();
  #flowOut: FlowState = 'NOT_FLOWING';
  #flowIn: FlowState = 'NOT_FLOWING';

  protected constructor(host: ObjectHost, info: TypeInfo, id: string, ownerSession: string, parent: MediaObject) {
    super(host, info, id, ownerSession, parent);
    this.define('connect', (p) => this.#connect(p));
    this.define('disconnect', (p) => this.#disconnect(p));
    this.define('getSinkConnections', (p) => this.#connections('sink', p));
    this.define('getSourceConnections', (p) => this.#connections('source', p));
    this.define('isMediaFlowingOut', (p) => {
      optionalMediaType(p, 'mediaType');
      return this.#flowOut === 'FLOWING';
    });
    this.define('isMediaFlowingIn', (p) => {
      optionalMediaType(p, 'mediaType');
      return this.#flowIn === 'FLOWING';
    });
    // The engine forwards H.264 as the camera sends it (ARCHITECTURE.md, media path).
    this.define('isMediaTranscoding', () => false);
    this.defineIntProperties(BITRATE_PROPERTIES, 0, 1_000_000_000);
    this.refuse(['setAudioFormat', 'setVideoFormat'], 'media is forwarded without transcoding');
    this.refuse(['getGstreamerDot', 'dumpGstreamerDot'], 'debug dumps would reveal source URIs');
    this.refuse(['getStats'], 'statistics are not collected yet');
  }

  /** Stored integer properties with `getX`/`setX`, validated to `[min, max]`. */
  protected defineIntProperties(names: readonly string[], min: number, max: number): void {
    for (const name of names) {
      const cap = name.charAt(0).toUpperCase() + name.slice(1);
      this.define(`get${cap}`, () => this.#intProps.get(name) ?? 0);
      this.define(`set${cap}`, (p) => {
        this.#intProps.set(name, optionalInt(p, name, min, max) ?? 0);
      });
    }
  }

  /** The stream this element sends downstream, when it has one. */
  protected mediaSource(): RtspSourceHandleLike | undefined {
    return undefined;
  }

  /** Where this element takes media in, when it can. */
  protected mediaSink(): ((au: AccessUnit) => void) | undefined {
    return undefined;
  }

  /** Where this element takes audio in, when it can (and which codecs). */
  protected audioSink(): AudioSinkLike | undefined {
    return undefined;
  }

  /** Sinks connected with exactly `mediaType` (a talk link is a WebRtcEndpoint's AUDIO into a player). */
  protected sinksWith(mediaType: MediaType): MediaElement[] {
    return [...this.#sinks].filter(([, link]) => link.mediaType === mediaType).map(([sink]) => sink);
  }

  /** Sinks connected to this element (linked or waiting for media). */
  protected get sinkCount(): number {
    return this.#sinks.size;
  }

  /**
   * Called on a sink when media from `source` starts moving to it; what it returns is called when that
   * stops (audio links only). A sink that sends to the source's camera (the RtpEndpoint's talk-back) hooks in here.
   */
  protected onSourceLinked(_source: RtspSourceHandleLike): (() => void) | undefined {
    return undefined;
  }

  /** Called after a sink was connected or disconnected. */
  protected onSinksChanged(): void {}

  /**
   * Called on a sink whose source stopped having a stream (the camera was lost or stalled):
   * whatever it cached from that stream must not be replayed into the next one (issue 11: no stale frames).
   */
  protected onSourceEnded(): void {}

  get flowOut(): FlowState {
    return this.#flowOut;
  }

  protected setFlowOut(state: FlowState): void {
    if (state === this.#flowOut) return;
    this.#flowOut = state;
    this.raise('MediaFlowOutStateChanged', { state, padName: 'default', mediaType: 'VIDEO' });
  }

  protected setFlowIn(state: FlowState): void {
    if (state === this.#flowIn) return;
    this.#flowIn = state;
    this.raise('MediaFlowInStateChanged', { state, padName: 'default', mediaType: 'VIDEO' });
  }

  /** Wires every link whose two ends are ready, unwires those whose ends went away. */
  protected refreshLinks(): void {
    const source = this.released ? undefined : this.mediaSource();
    for (const [sink, link] of this.#sinks) {
      const feed = sink.released ? undefined : sink.mediaSink();
      // Kurento: connect() without a mediaType links audio and video, with one only that kind.
      const wantVideo = link.mediaType === undefined || link.mediaType === 'VIDEO';
      const wantAudio = link.mediaType === undefined || link.mediaType === 'AUDIO';
      if (source && feed && (wantVideo || wantAudio) && !link.unsubscribe) {
        const offs: (() => void)[] = [];
        if (wantVideo) offs.push(source.subscribe(feed));
        const audio = wantAudio && source.subscribeAudio ? sink.audioSink() : undefined;
        if (audio) offs.push(source.subscribeAudio!(audio.sink, { accept: audio.accept }));
        const more = wantAudio ? sink.onSourceLinked(source) : undefined;
        if (more) offs.push(more);
        link.unsubscribe = () => {
          for (const off of offs) off();
        };
        sink.setFlowIn('FLOWING');
      } else if ((!source || !feed) && link.unsubscribe) {
        link.unsubscribe();
        link.unsubscribe = undefined;
        sink.setFlowIn('NOT_FLOWING');
        if (!source) sink.onSourceEnded();
      }
    }
  }

  /** Called by a sink whose ability to take media changed. */
  protected refreshSources(): void {
    for (const src of this.#sources) src.refreshLinks();
  }

  #connect(p: Params): void {
    const sink = this.#resolveSink(p);
    const mediaType = optionalMediaType(p, 'mediaType');
    const sourceMediaDescription = optionalString(p, 'sourceMediaDescription', 256) ?? '';
    const sinkMediaDescription = optionalString(p, 'sinkMediaDescription', 256) ?? '';
    if (sink === this)
      throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', 'Cannot connect an element to itself');
    if (sink.pipelineId() !== this.pipelineId()) {
      throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', 'Cannot connect elements of different pipelines');
    }
    if (!this.#sinks.has(sink)) {
      this.#sinks.set(sink, { mediaType, unsubscribe: undefined });
      sink.#sources.add(this);
      this.onSinksChanged();
    }
    this.raise('ElementConnected', {
      sink: sink.id,
      mediaType: mediaType ?? 'VIDEO',
      sourceMediaDescription,
      sinkMediaDescription,
    });
    this.refreshLinks();
  }

  #disconnect(p: Params): void {
    const sink = this.#resolveSink(p);
    const mediaType = optionalMediaType(p, 'mediaType');
    this.#unlink(sink);
    this.raise('ElementDisconnected', {
      sink: sink.id,
      mediaType: mediaType ?? 'VIDEO',
      sourceMediaDescription: '',
      sinkMediaDescription: '',
    });
  }

  #unlink(sink: MediaElement): void {
    const link = this.#sinks.get(sink);
    if (!link) return;
    link.unsubscribe?.();
    this.#sinks.delete(sink);
    sink.#sources.delete(this);
    if (link.unsubscribe) sink.setFlowIn('NOT_FLOWING');
    this.onSinksChanged();
  }

  #resolveSink(p: Params): MediaElement {
    const id = requireString(p, 'sink', 512);
    const obj = this.host.find(id);
    if (!obj) throw objectNotFound(id);
    if (!(obj instanceof MediaElement)) {
      throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `Object '${clip(id)}' is not a MediaElement`);
    }
    return obj;
  }

  #connections(side: 'sink' | 'source', p: Params): Record<string, unknown>[] {
    const mediaType = optionalMediaType(p, 'mediaType');
    optionalString(p, 'description', 256);
    const pairs: [MediaElement, MediaElement, Link | undefined][] =
      side === 'sink'
        ? [...this.#sinks].map(([sink, link]) => [this, sink, link])
        : [...this.#sources].map((src) => [src, this, src.#sinks.get(this)]);
    return pairs
      .filter(([, , link]) => mediaType === undefined || (link?.mediaType ?? 'VIDEO') === mediaType)
      .map(([source, sink, link]) => ({
        __module__: 'kurento',
        __type__: 'ElementConnectionData',
        source: source.id,
        sink: sink.id,
        type: link?.mediaType ?? 'VIDEO',
        sourceDescription: '',
        sinkDescription: '',
      }));
  }

  protected override async onRelease(): Promise<void> {
    for (const sink of [...this.#sinks.keys()]) this.#unlink(sink);
    for (const src of [...this.#sources]) src.#unlink(this);
  }
}
