export { KurentoEngine, type KurentoEngineEvents } from './engine.js';
export { ENGINE_TOKEN_PARAM, ENGINE_TOKEN_PATTERN, engineUrlWithToken, generateEngineToken } from './access.js';
export { defaultEngineTokenFile, loadOrCreateEngineToken, readEngineToken } from './token-file.js';
export { DEFAULT_ENGINE_OPTIONS, resolveEngineOptions, type EngineOptions } from './options.js';
export type { EngineStats } from './core.js';
export { ENGINE_KMS_VERSION, SERVER_MANAGER_ID } from './elements/server-manager.js';
export type {
  AccessUnit,
  IceServer,
  MediaPlane,
  RtspSourceHandleLike,
  RtspSourcesLike,
  WebRtcPeerLike,
  WebRtcPeerLikeOptions,
} from './media-plane.js';
