import { redactString } from '../../util/index.js';
import type { CamgateError } from '../../util/index.js';
import { KurentoRpcError } from '../errors.js';
import type { CameraStatusLike, RtspSourceHandleLike, StreamNotice } from '../media-plane.js';
import { optionalBoolean, optionalInt, requireString, type Params } from '../params.js';
import { MediaElement } from './media-element.js';
import type { ObjectHost } from './media-object.js';
import type { MediaPipeline } from './media-pipeline.js';
import { PLAYER_ENDPOINT_TYPE } from './types.js';

/** UriEndpointState (core.kmd.json). */
export type UriEndpointState = 'STOP' | 'START' | 'PAUSE';

/**
 * The engine's own event on a PlayerEndpoint: the camera's state for people, with what KMS has no
 * event for (a plain-words reason, stream notices). KMS-compatible events still carry what they can:
 * MediaFlowOutStateChanged (FLOWING only while the camera sends), Error (reasons a retry cannot fix).
 * docs/engine.md, "Camera state".
 */
export const CAMERA_STATE_EVENT = 'CameraStateChanged';

/** URIs are capped like any string from the network; RTSP URLs are short. */
const MAX_URI_CHARS = 2048;

/**
 * Accepts only RTSP: a player of `http://` or `file://` would make the media
 * host fetch or read whatever the client names (ARCHITECTURE.md, control path).
 */
export function validateRtspUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // The URI is not echoed: it may carry the camera's password.
    throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', "'uri' is not a valid URI");
  }
  if ((url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') || url.hostname === '') {
    throw new KurentoRpcError(
      'MEDIA_OBJECT_ILLEGAL_PARAM_ERROR',
      "'uri' must be an rtsp:// or rtsps:// URI with a host",
    );
  }
}

/** `rtsp://user:pass@host/p` → `rtsp://host/p` (WHATWG URL: username and password are the userinfo). */
export function withoutUserinfo(uri: string): string {
  const url = new URL(uri); // validated at construction
  url.username = '';
  url.password = '';
  return url.href;
}

/**
 * A PlayerEndpoint of one RTSP camera. `play()` takes a reference on the
 * shared source for its URI (one pull per camera however many viewers);
 * `stop()` and release give it back.
 */
export class PlayerEndpoint extends MediaElement {
  readonly uri: string;
  #state: UriEndpointState = 'STOP';
  #handle: RtspSourceHandleLike | undefined;
  #onSourceState: ((state: string, info?: { error?: CamgateError }) => void) | undefined;
  #onStatus: ((status: CameraStatusLike) => void) | undefined;
  #onNotice: ((notice: StreamNotice) => void) | undefined;
  #networkCache: number;

  constructor(host: ObjectHost, ownerSession: string, pipeline: MediaPipeline, params: Params) {
    const uri = requireString(params, 'uri', MAX_URI_CHARS);
    validateRtspUri(uri);
    optionalBoolean(params, 'useEncodedMedia'); // always true here: the engine never decodes
    const networkCache = optionalInt(params, 'networkCache', 0, 60_000) ?? 2000; // ms, KMS default
    super(host, PLAYER_ENDPOINT_TYPE, pipeline.childId('PlayerEndpoint'), ownerSession, pipeline);
    this.uri = uri;
    this.#networkCache = networkCache;
    this.define('play', () => this.#play());
    this.define('pause', () => this.#pause());
    this.define('stop', () => this.#stop());
    // KMS returns the URI with its password here (ARCHITECTURE.md, control path); the engine never
    // answers with a credential, whoever asks (the gateway policy does not let the hub call it at all).
    this.define('getUri', () => withoutUserinfo(this.uri));
    this.define('getState', () => this.#state);
    this.define('getNetworkCache', () => this.#networkCache);
    this.refuse(['getElementGstreamerDot'], 'debug dumps would reveal source URIs');
  }

  get state(): UriEndpointState {
    return this.#state;
  }

  /** True while this player holds a reference on a shared RTSP source. */
  get holdsSource(): boolean {
    return this.#handle !== undefined;
  }

  /** The camera pull while playing: what a talk link (webrtc-talk.ts) opens the camera's talk lock on. */
  get talkSource(): RtspSourceHandleLike | undefined {
    return this.mediaSource();
  }

  protected override mediaSource(): RtspSourceHandleLike | undefined {
    return this.#state === 'START' && this.#handle?.state === 'playing' ? this.#handle : undefined;
  }

  #setState(state: UriEndpointState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.raise('UriEndpointStateChanged', { state });
  }

  #play(): void {
    const media = this.host.media;
    if (!media) throw new KurentoRpcError('NOT_IMPLEMENTED', 'The media plane is not available in this engine build');
    if (!this.#handle) {
      const handle = media.sources.acquire(this.uri);
      this.#handle = handle;
      this.#onSourceState = (state, info) => this.#sourceStateChanged(state, info?.error);
      this.#onStatus = (status) => this.#raiseCameraState(status, handle.notice);
      this.#onNotice = (notice) => this.#raiseCameraState(handle.status, notice);
      handle.on('state', this.#onSourceState);
      handle.on('status', this.#onStatus);
      handle.on('notice', this.#onNotice);
      handle.setWatched?.(this.sinkCount > 0);
    }
    this.#setState('START');
    const handle = this.#handle;
    this.#raiseCameraState(handle.status, handle.notice);
    this.#sourceStateChanged(handle.state, undefined);
  }

  // A player with a viewer connected is watched: its camera reconnects fast (RtspClient.setWatched).
  protected override onSinksChanged(): void {
    this.#handle?.setWatched?.(this.sinkCount > 0);
  }

  #raiseCameraState(status: CameraStatusLike | undefined, notice: StreamNotice | undefined): void {
    if (!status || this.released) return;
    const data: Record<string, unknown> = { state: status.state };
    if (status.reason !== undefined) data.reason = status.reason;
    if (status.code !== undefined) data.code = status.code;
    if (status.final) data.final = true;
    if (notice) data.notice = { code: notice.code, message: notice.message };
    this.raise(CAMERA_STATE_EVENT, data);
  }

  #pause(): void {
    if (this.#state !== 'START') return;
    this.#setState('PAUSE');
    this.refreshLinks();
    this.setFlowOut('NOT_FLOWING');
  }

  #stop(): void {
    this.#dropHandle();
    this.#setState('STOP');
    this.refreshLinks();
    this.setFlowOut('NOT_FLOWING');
  }

  #dropHandle(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = undefined;
    if (this.#onSourceState) handle.off('state', this.#onSourceState);
    if (this.#onStatus) handle.off('status', this.#onStatus);
    if (this.#onNotice) handle.off('notice', this.#onNotice);
    this.#onSourceState = this.#onStatus = this.#onNotice = undefined;
    handle.release();
  }

  #sourceStateChanged(state: string, error: CamgateError | undefined): void {
    if (this.released) return;
    if (state === 'failed') {
      // A wrong camera password must reach the viewer as an error, not a hang.
      const why = error ? `${error.code}: ${error.message}` : 'the camera could not be reached';
      this.#dropHandle();
      this.refreshLinks();
      this.setFlowOut('NOT_FLOWING');
      this.raise('Error', {
        description: redactString(`RTSP source failed (${why})`),
        errorCode: 40004, // CONNECT_ERROR (KurentoException.hpp)
        type: 'CONNECT_ERROR',
      });
      this.#setState('STOP');
      return;
    }
    this.refreshLinks();
    this.setFlowOut(this.#state === 'START' && state === 'playing' ? 'FLOWING' : 'NOT_FLOWING');
  }

  protected override async onRelease(): Promise<void> {
    await super.onRelease();
    this.#dropHandle();
  }
}
