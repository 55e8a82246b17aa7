import { KurentoRpcError, clip, objectNotFound } from '../errors.js';
import { isPlainObject, requireString, type Params } from '../params.js';
import type { MediaObject, ObjectHost } from './media-object.js';
import { MediaPipeline } from './media-pipeline.js';
import { PlayerEndpoint } from './player-endpoint.js';
import { RtpEndpoint } from './rtp-endpoint.js';
import { normaliseTypeName } from './types.js';
import { WebRtcEndpoint } from './webrtc-endpoint.js';

export type ElementFactory = (host: ObjectHost, sessionId: string, params: Params) => MediaObject;

function pipelineParam(host: ObjectHost, params: Params): MediaPipeline {
  const id = requireString(params, 'mediaPipeline', 512);
  const obj = host.find(id);
  if (!obj) throw objectNotFound(id);
  if (!(obj instanceof MediaPipeline)) {
    throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `Object '${clip(id)}' is not a MediaPipeline`);
  }
  return obj;
}

/** One factory per creatable type; the module each belongs to is what `getInfo` reports. */
export const FACTORIES: ReadonlyMap<string, { module: 'core' | 'elements'; create: ElementFactory }> = new Map([
  ['MediaPipeline', { module: 'core', create: (host, sid) => new MediaPipeline(host, sid) }],
  [
    'PlayerEndpoint',
    {
      module: 'elements',
      create: (host, sid, p) => new PlayerEndpoint(host, sid, pipelineParam(host, p), p),
    },
  ],
  [
    'WebRtcEndpoint',
    {
      module: 'elements',
      create: (host, sid, p) => new WebRtcEndpoint(host, sid, pipelineParam(host, p), p),
    },
  ],
  [
    'RtpEndpoint',
    {
      module: 'elements',
      create: (host, sid, p) => new RtpEndpoint(host, sid, pipelineParam(host, p), p),
    },
  ],
]);

/** Creates an object of `type` (short or `kurento.`-qualified); KMS's answers for unknown types. */
export function createObject(
  host: ObjectHost,
  sessionId: string,
  type: string,
  constructorParams: unknown,
): MediaObject {
  const factory = FACTORIES.get(normaliseTypeName(type));
  if (!factory) {
    // KMS ModuleManager::getFactory
    throw new KurentoRpcError('MEDIA_OBJECT_TYPE_NOT_FOUND', `Factory '${clip(type, 64)}' not found`);
  }
  if (constructorParams !== undefined && constructorParams !== null && !isPlainObject(constructorParams)) {
    throw new KurentoRpcError('MARSHALL_ERROR', "'constructorParams' should be an object");
  }
  return factory.create(host, sessionId, (constructorParams ?? {}) as Params);
}
