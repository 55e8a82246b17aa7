import { KurentoClient } from '../kurento/index.js';
import type { Logger } from '../util/index.js';
import type { CameraRegistry } from './camera-registry.js';

export interface CameraWarmerOptions {
  backendUrl: string;
  cameras: CameraRegistry;
  logger: Logger;
  /** Wait before reconnecting to a media backend that went away. */
  retryMs: number;
}

/**
 * Keeps one player per camera playing on the media backend, so the built-in
 * engine always holds each camera's current GOP and a viewer's first picture
 * comes from that cache at once, instead of after the camera's next keyframe
 * (up to its whole keyframe interval, 2–4 s on real cameras). It costs one
 * RTSP pull per camera on the LAN whether anyone watches or not, hence
 * opt-in (`keepWarm`). The session is the gateway's own, made directly on the
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
      const pipeline = await client.create('MediaPipeline');
      this.#pipeline = pipeline;
      for (const cam of this.#opts.cameras.list()) {
        const uri = this.#opts.cameras.resolveCameraUri(cam.id);
        if (!uri) continue;
        const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri });
        await client.invoke(player, 'play');
      }
      log.info('cameras kept warm', { cameras: this.#opts.cameras.list().length });
    } catch (err) {
      log.warn('could not keep cameras warm; retrying', { err, retryMs: this.#opts.retryMs });
      await this.#client?.close().catch(() => undefined);
      this.#retry();
    }
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
