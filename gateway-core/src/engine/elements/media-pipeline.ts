import { randomUUID } from 'node:crypto';
import { requireBoolean } from '../params.js';
import { MediaObject, type ObjectHost } from './media-object.js';
import { MEDIA_PIPELINE_TYPE } from './types.js';

/**
 * A MediaPipeline: the container of elements. Its id ends in
 * `_kurento.MediaPipeline` and its elements' ids start with it, as KMS does —
 * kurento-client relies on both to drop released children from its cache.
 */
export class MediaPipeline extends MediaObject {
  #latencyStats = false;

  constructor(host: ObjectHost, ownerSession: string) {
    super(host, MEDIA_PIPELINE_TYPE, `${randomUUID()}_kurento.MediaPipeline`, ownerSession);
    this.define('getLatencyStats', () => this.#latencyStats);
    this.define('setLatencyStats', (p) => {
      this.#latencyStats = requireBoolean(p, 'latencyStats');
    });
    this.refuse(['getGstreamerDot', 'dumpGstreamerDot'], 'debug dumps would reveal source URIs');
  }

  override pipelineId(): string {
    return this.id;
  }

  /** Id for a new element of `type` in this pipeline (`<pipeline>/<uuid>_kurento.<type>`). */
  childId(type: string): string {
    return `${this.id}/${randomUUID()}_kurento.${type}`;
  }
}
