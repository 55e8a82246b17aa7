import { BUILTIN_ENGINE_SERVER, KurentoClient, SERVER_MANAGER_ID } from '../kurento/index.js';
import type { JsonObject } from '../kurento/index.js';
import type { Logger } from '../util/index.js';
import type { CameraRegistry } from './camera-registry.js';
import { cameraStateFromEvent, type GatewayCameraState } from './camera-state.js';

export interface CameraWarmerOptions {
  backendUrl: string;
  cameras: CameraRegistry;
  logger: Logger;
  /** Wait before reconnecting to a media backend that went away. */
  retryMs: number;
  /**
   * 'auto': only when the backend is camgate's built-in engine, which shares
   * one pull per camera between all players. Kurento Media Server opens an
   * RTSP session per player, so a warm player there would cost a pull and
   * save nothing. 'always': whatever the backend. 'never': no warm players;
   * the built-in engine is still told the camera profiles.
   */
  mode: 'auto' | 'always' | 'never';
  /** Each camera's state, from its warm player; `idle` for every camera when none is kept warm (camera-state.ts). */
  onCameraState?: (state: GatewayCameraState) => void;
}

/** Whether a `getMetadata` answer names the built-in engine; anything unexpected means no. */
export function isBuiltinEngine(metadata: unknown): boolean {
  if (typeof metadata !== 'string' || metadata.length > 4096) return false;
  try {
    const m = JSON.parse(metadata) as unknown;
    return typeof m === 'object' && m !== null && (m as { server?: unknown }).server === BUILTIN_ENGINE_SERVER;
  } catch {
    return false;
  }
}

/** `setCameraProfiles` operationParams: each camera's player uri, id and transcode mode (engine/camera-profiles.ts). */
export function cameraProfilesParams(cameras: CameraRegistry): JsonObject {
  const list: JsonObject[] = [];
  for (const cam of cameras.list()) {
    const uri = cameras.resolveCameraUri(cam.id);
    if (uri !== undefined) list.push({ uri, cameraId: cam.id, transcode: cam.transcode ?? 'auto' });
  }
  return { cameras: list };
}

/**
 * The gateway's own session on the media backend. With the built-in engine it
 * first tells the engine its cameras' profiles (ids for the engine's log lines,
 * transcode modes), again after every reconnect since an engine restart forgets
 * them; on this connection only, so the hub never can.
 *
 * Then it keeps one player per camera playing on the media backend, so the built-in
 * engine always holds each camera's current GOP and a viewer's first picture
 * comes from that cache at once, instead of after the camera's next keyframe
 * (up to its whole keyframe interval, 2–4 s on real cameras). It costs one
 * RTSP pull per camera on the LAN whether anyone watches or not, which is
 * what an NVR or Janus's streaming plugin does anyway; `keepWarm: false`
 * turns it off. The session is the gateway's own, made directly on the
 * backend: the hub never sees it and the policy does not apply.
 */
export class CameraWarmer {
  readonly #opts: CameraWarmerOptions;
  #client: KurentoClient | undefined;
  #pipeline: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: CameraWarmerOptions) {
    this.#opts = opts;
  }

  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const log = this.#opts.logger;
    try {
      const client = await KurentoClient.connect(this.#opts.backendUrl, { logger: log.child('kurento') });
      if (this.#closed) return void (await client.close());
      this.#client = client;
      client.once('close', () => this.#retry());
      // KMS answers with its configured metadata (often ""); a failed call is retried like any other.
      const builtin = isBuiltinEngine(await client.invoke(SERVER_MANAGER_ID, 'getMetadata'));
      if (builtin)
        await client.invoke(SERVER_MANAGER_ID, 'setCameraProfiles', cameraProfilesParams(this.#opts.cameras));
      if (this.#opts.mode === 'never' || (this.#opts.mode === 'auto' && !builtin)) {
        this.#reportIdle();
        if (!builtin) {
          log.info('media backend is not the built-in engine: cameras are not kept warm (keepWarm: true forces it)');
          this.#closed = true;
          this.#client = undefined;
          await client.close();
        }
        // With the built-in engine the connection stays open: when it closes (engine restart), the profiles are sent again.
        return;
      }
      const pipeline = await client.create('MediaPipeline');
      this.#pipeline = pipeline;
      for (const cam of this.#opts.cameras.list()) {
        const uri = this.#opts.cameras.resolveCameraUri(cam.id);
        if (!uri) continue;
        const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri });
        await this.#watchState(client, player, cam.id);
        await client.invoke(player, 'play');
      }
      log.info('cameras kept warm', { cameras: this.#opts.cameras.list().length });
    } catch (err) {
      // With keep-warm off the connection only carries the camera profiles: say that, not "warm".
      const what =
        this.#opts.mode === 'never'
          ? 'could not send the camera profiles to the media backend'
          : 'could not keep cameras warm';
      log.warn(`${what}; retrying`, { err, retryMs: this.#opts.retryMs });
      await this.#client?.close().catch(() => undefined);
      this.#retry();
    }
  }

  #reportIdle(): void {
    for (const cam of this.#opts.cameras.list()) this.#opts.onCameraState?.({ cameraId: cam.id, state: 'idle' });
  }

  /**
   * The built-in engine's CameraStateChanged on this warm player. KMS has no such event (40106): there the
   * player's flow and Error events stand in, without reasons.
   */
  async #watchState(client: KurentoClient, player: string, cameraId: string): Promise<void> {
    const report = this.#opts.onCameraState;
    if (!report) return;
    try {
      await client.subscribe(player, 'CameraStateChanged', (e) => {
        const state = cameraStateFromEvent(cameraId, e.data);
        if (state) report(state);
      });
      return;
    } catch (err) {
      this.#opts.logger.debug('no CameraStateChanged on this media backend; using flow events', {
        err,
        camera: cameraId,
      });
    }
    report({ cameraId, state: 'connecting' });
    await client.subscribe(player, 'MediaFlowOutStateChanged', (e) =>
      report({ cameraId, state: e.data.state === 'FLOWING' ? 'live' : 'reconnecting' }),
    );
    await client.subscribe(player, 'Error', () => report({ cameraId, state: 'unreachable', reason: 'camera error' }));
  }

  #retry(): void {
    this.#client = undefined;
    this.#pipeline = undefined;
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, this.#opts.retryMs);
    this.#timer.unref();
  }

  /** Releases the warm players (closing the session's connection lets the backend collect them too). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    const pipeline = this.#pipeline;
    this.#client = undefined;
    if (!client) return;
    try {
      // Releasing the pipeline frees its players now rather than at the backend's session timeout.
      if (pipeline) await client.release(pipeline);
    } catch (err) {
      this.#opts.logger.debug('releasing the warm pipeline failed', { err });
    } finally {
      await client.close();
    }
  }
}
