/**
 * One camera playing to one browser: pipeline → PlayerEndpoint(camera://ID) →
 * WebRtcEndpoint, built with our KurentoClient against the hub's Kurento
 * endpoint for the gateway (so every request passes the gateway's policy).
 * Each stream has its own Kurento connection: what it made is released when
 * it stops, and a dropped connection cannot strand another stream's objects.
 */
import { KurentoClient, type JsonObject } from '../../kurento/index.js';
import type { Logger } from '../../util/index.js';
import type { IceCandidateMessage } from './messages.js';
import { describeFailure, describePlayerError, type PlainError } from './plain-words.js';
import { CAMERA_STATE_TEXT, parseCameraState, type TileCameraStatus } from './camera-state.js';

/** STUN/TURN for the media backend's WebRtcEndpoint (Kurento `setTurnUrl` / `setStunServer*`). */
export interface EngineIceConfig {
  /** `user:password@host:port?transport=udp|tcp|tls`, as Kurento's WebRtcEndpoint.turnUrl takes it. */
  turnUrl?: string;
  stunAddress?: string;
  stunPort?: number;
}

export type StreamState =
  | 'connecting'
  | 'negotiating'
  | 'waiting'
  | 'playing'
  | 'talking'
  | 'reconnecting'
  | 'unreachable'
  | 'failed'
  | 'stopped';

/** What the page shows for each state (the page may add its own from RTCPeerConnection). */
const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting to the gateway…',
  negotiating: 'Setting up the video connection…',
  waiting: 'Waiting for video…',
  playing: 'Live',
  talking: 'Talking — the camera plays what you say',
  reconnecting: CAMERA_STATE_TEXT.reconnecting,
  unreachable: 'Camera unreachable',
  failed: 'Not playing',
  stopped: 'Stopped',
};

export interface ViewerStreamOptions {
  id: string;
  kurentoUrl: string;
  cameraId: string;
  /**
   * A push-to-talk stream: the browser's microphone goes to the camera's speaker (docs/kurento-policy.md
   * "Talking back"); `kurentoUrl` must then carry the hub's talk ticket. Default false: the camera plays to the page.
   */
  talk?: boolean;
  engineIce: EngineIceConfig | undefined;
  /** Sends one message to the browser. */
  send: (msg: JsonObject) => void;
  /** Browser candidates that may reach the media backend (e.g. loopback only in tests). */
  acceptCandidate: (candidate: string) => boolean;
  requestTimeoutMs: number;
  /** Called once when the stream is over (stopped or failed), after its objects were released. */
  onEnd: () => void;
  logger: Logger;
}

/** Most browser candidates held before the offer is processed (a page trickles a handful). */
const MAX_QUEUED_CANDIDATES = 64;

export class ViewerStream {
  readonly #o: ViewerStreamOptions;
  #state: StreamState = 'connecting';
  #client: KurentoClient | undefined;
  #pipeline: string | undefined;
  #webrtc: string | undefined;
  #queued: IceCandidateMessage[] | undefined = [];
  #ending: Promise<void> | undefined;
  #flowing = false;
  /** The camera's last state from the engine's CameraStateChanged (undefined with KMS, which has no such event). */
  #camera: TileCameraStatus | undefined;
  /** KMS: the player's own flow events stand in for camera states. */
  #playerFlowFallback = false;
  #abandoned = false;

  constructor(o: ViewerStreamOptions) {
    this.#o = o;
  }

  get state(): StreamState {
    return this.#state;
  }

  /** Builds the pipeline and answers `offer`; failures reach the browser as plain words. Never rejects. */
  async start(offer: string): Promise<void> {
    let step: 'connect' | 'setup' | 'offer' = 'connect';
    try {
      this.#setState('connecting');
      const client = await KurentoClient.connect(this.#o.kurentoUrl, {
        requestTimeoutMs: this.#o.requestTimeoutMs,
        connectTimeoutMs: this.#o.requestTimeoutMs,
        logger: this.#o.logger.child('kurento'),
      });
      this.#client = client;
      if (this.#ending) {
        await client.close();
        return;
      }
      step = 'setup';
      client.on('close', (err) => {
        if (err && !this.#ending) this.#fail(describeFailure(err, 'setup'));
      });
      const pipeline = await client.create('MediaPipeline');
      this.#pipeline = pipeline;
      const [player, webrtc] = await Promise.all([
        client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: `camera://${this.#o.cameraId}` }),
        client.create('WebRtcEndpoint', { mediaPipeline: pipeline }),
      ]);
      this.#webrtc = webrtc;
      const ice = this.#o.engineIce;
      const talk = this.#o.talk === true;
      await Promise.all([
        client.subscribe(player, 'Error', (e) => this.#fail(describePlayerError(e.data))),
        client.subscribe(webrtc, 'Error', (e) => this.#fail(describePlayerError(e.data))),
        client.subscribe(webrtc, 'IceCandidateFound', (e) => this.#onLocalCandidate(e.data)),
        talk
          ? undefined
          : client.subscribe(webrtc, 'MediaFlowOutStateChanged', (e) => {
              this.#flowing = e.data.state === 'FLOWING';
              if (this.#flowing && this.#state === 'waiting') this.#setState('playing');
            }),
        talk ? undefined : this.#subscribeCameraState(client, player),
        ice?.turnUrl ? client.invoke(webrtc, 'setTurnUrl', { turnUrl: ice.turnUrl }) : undefined,
        ice?.stunAddress
          ? client.invoke(webrtc, 'setStunServerAddress', { stunServerAddress: ice.stunAddress })
          : undefined,
        ice?.stunPort ? client.invoke(webrtc, 'setStunServerPort', { stunServerPort: ice.stunPort }) : undefined,
      ]);
      // Talking: the endpoint's audio goes INTO the player, which hands it to the camera's back channel
      // (ONVIF Streaming Spec §5.3). Viewing: the player's media goes out to the endpoint.
      if (talk) await client.invoke(webrtc, 'connect', { sink: player, mediaType: 'AUDIO' });
      else await client.invoke(player, 'connect', { sink: webrtc });
      // Play before negotiating: the camera pull (or its GOP cache) is warm by the time ICE connects.
      await client.invoke(player, 'play');
      if (this.#ending) return;
      this.#setState('negotiating');
      step = 'offer';
      const answer = await client.invoke(webrtc, 'processOffer', { offer });
      if (typeof answer !== 'string') throw new Error('processOffer returned no SDP');
      if (this.#ending) return;
      this.#o.send({ type: 'answer', id: this.#o.id, sdp: answer });
      step = 'setup';
      const queued = this.#queued ?? [];
      this.#queued = undefined;
      for (const c of queued) await this.#addRemoteCandidate(c);
      await client.invoke(webrtc, 'gatherCandidates');
      if (talk) {
        if (this.#state === 'negotiating') this.#setState('talking');
        return;
      }
      if (this.#state === 'negotiating') this.#setState(this.#flowing ? 'playing' : 'waiting');
      // A camera lost (or unreachable) while the browser was negotiating: the tile says so now.
      const cam = this.#camera;
      if (cam && (cam.state === 'reconnecting' || cam.state === 'unreachable')) this.#onCameraState(cam);
    } catch (err) {
      if (this.#ending) return;
      this.#o.logger.info('camera did not open', { err, step, camera: this.#o.cameraId });
      this.#fail(describeFailure(err, step));
    }
  }

  /** A candidate from the browser (RFC 8838 trickle): queued until the offer is processed. */
  addCandidate(c: IceCandidateMessage): void {
    if (this.#ending || !this.#o.acceptCandidate(c.candidate)) return;
    if (this.#queued) {
      if (this.#queued.length < MAX_QUEUED_CANDIDATES) this.#queued.push(c);
      return;
    }
    void this.#addRemoteCandidate(c).catch((err: unknown) =>
      this.#o.logger.debug('addIceCandidate refused', { err, camera: this.#o.cameraId }),
    );
  }

  async #addRemoteCandidate(c: IceCandidateMessage): Promise<void> {
    if (!this.#client || !this.#webrtc) return;
    const candidate: JsonObject = { __module__: 'kurento', __type__: 'IceCandidate', candidate: c.candidate };
    if (c.sdpMid !== undefined) candidate.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex !== undefined) candidate.sdpMLineIndex = c.sdpMLineIndex;
    await this.#client.invoke(this.#webrtc, 'addIceCandidate', { candidate });
  }

  #onLocalCandidate(data: JsonObject): void {
    const c = data.candidate;
    if (typeof c !== 'object' || c === null || Array.isArray(c) || typeof c.candidate !== 'string') return;
    const out: JsonObject = { candidate: c.candidate.slice(0, 512) };
    if (typeof c.sdpMid === 'string') out.sdpMid = c.sdpMid.slice(0, 32);
    if (typeof c.sdpMLineIndex === 'number') out.sdpMLineIndex = c.sdpMLineIndex;
    this.#o.send({ type: 'candidate', id: this.#o.id, candidate: out });
  }

  /**
   * The engine's CameraStateChanged (docs/engine.md, "Camera state"). KMS refuses the subscription
   * (40106, no such event): the player's MediaFlowOutStateChanged then tells lost from live, without reasons.
   */
  async #subscribeCameraState(client: KurentoClient, player: string): Promise<void> {
    try {
      await client.subscribe(player, 'CameraStateChanged', (e) => {
        const status = parseCameraState(e.data);
        if (status) this.#onCameraState(status);
      });
    } catch (err) {
      this.#o.logger.debug('no CameraStateChanged on this media backend; using player flow events', {
        err,
        camera: this.#o.cameraId,
      });
      this.#playerFlowFallback = true;
      await client.subscribe(player, 'MediaFlowOutStateChanged', (e) => {
        if (!this.#playerFlowFallback) return;
        if (e.data.state === 'NOT_FLOWING' && this.#state === 'playing')
          this.#onCameraState({ state: 'reconnecting', final: false });
        else if (e.data.state === 'FLOWING') this.#onCameraState({ state: 'live', final: false });
      });
    }
  }

  /** Turns the camera's state into the tile's: never "Live" over a lost camera, never "waiting" over an unreachable one. */
  #onCameraState(status: TileCameraStatus): void {
    if (this.#ending || this.#state === 'failed') return;
    const prev = this.#camera;
    this.#camera = status;
    // Until the browser's offer is answered the tile shows setup progress; the state is applied after.
    if (this.#state === 'connecting' || this.#state === 'negotiating') {
      if (status.state === 'unreachable') this.#setState('unreachable', status);
      return;
    }
    switch (status.state) {
      case 'live':
        if (this.#state === 'reconnecting' || this.#state === 'unreachable') {
          this.#setState(
            this.#flowing ? 'playing' : 'waiting',
            status,
            this.#flowing ? undefined : CAMERA_STATE_TEXT.back,
          );
        } else if (status.notice?.message !== prev?.notice?.message) {
          this.#setState(this.#state, status); // a notice came or went: the tile says why
        }
        return;
      case 'reconnecting':
        this.#setState('reconnecting', status);
        return;
      case 'unreachable':
        this.#setState('unreachable', status);
        return;
      default:
        return;
    }
  }

  #setState(state: StreamState, camera?: TileCameraStatus, text?: string): void {
    this.#state = state;
    const msg: JsonObject = { type: 'state', id: this.#o.id, state, text: text ?? STATE_TEXT[state] };
    if (state === 'unreachable') msg.text = CAMERA_STATE_TEXT.unreachable(camera?.reason ?? 'no answer');
    if (camera?.reason) msg.reason = camera.reason;
    const notice = camera?.notice ?? this.#camera?.notice;
    if (notice) msg.notice = notice.message;
    this.#o.send(msg);
  }

  #fail(e: PlainError): void {
    if (this.#ending) return;
    this.#state = 'failed';
    this.#o.send({ type: 'error', id: this.#o.id, code: e.code, message: e.message });
    void this.#end();
  }

  /** Releases the pipeline (and with it the player and endpoint) and closes the connection. Idempotent. */
  stop(): Promise<void> {
    if (!this.#ending && this.#state !== 'failed') this.#setState('stopped');
    return this.#end();
  }

  /**
   * Closes the Kurento connection WITHOUT releasing the pipeline (the hub is shutting down, e.g. to restart):
   * media goes from the backend to the browser without the hub, so the picture plays on until the page's
   * new player takes over, and the gateway's session keeper releases the pipeline after its grace period.
   */
  abandon(): Promise<void> {
    this.#abandoned = true;
    return this.#end();
  }

  #end(): Promise<void> {
    this.#ending ??= (async () => {
      const client = this.#client;
      try {
        if (client && this.#pipeline && !this.#abandoned) await client.release(this.#pipeline);
      } catch (err) {
        // The gateway's session keeper releases what a vanished hub connection left behind.
        this.#o.logger.debug('release failed', { err });
      }
      try {
        await client?.close();
      } catch (err) {
        this.#o.logger.debug('closing the Kurento connection failed', { err });
      }
      this.#o.onEnd();
    })();
    return this.#ending;
  }
}
