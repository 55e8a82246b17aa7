export { ViewerApp, type ViewerHost } from './viewer-app.js';
export { DEFAULT_VIEWER_OPTIONS, resolveViewerOptions, type ViewerOptions } from './options.js';
export { camerasFor, type CameraEntry, type ExposureState } from './cameras.js';
export { viewerFlagsFor, VIEWER_FLAG_LIMITS, type ViewerFlag } from './flags.js';
export { type ViewerIceConfig, type BrowserIceServer } from './connection.js';
export { type EngineIceConfig, type StreamState } from './stream.js';
export {
  parseBrowserMessage,
  checkOffer,
  ViewerProtocolError,
  type BrowserMessage,
  type IceCandidateMessage,
  type MessageLimits,
} from './messages.js';
export { PLAIN, describePlayerError, describeFailure, type PlainError } from './plain-words.js';
export { originAllowed, ownOrigin } from './origin.js';
export { CONTENT_SECURITY_POLICY } from './static-files.js';
