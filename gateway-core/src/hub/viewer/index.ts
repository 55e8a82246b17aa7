export { ViewerApp } from './viewer-app.js';
export { DEFAULT_VIEWER_OPTIONS, type ViewerOptions } from './options.js';
export { type CameraEntry, type ExposureState } from './cameras.js';
export { type ViewerIceConfig } from './connection.js';
export { parseBrowserMessage, checkOffer, ViewerProtocolError } from './messages.js';
export { PLAIN, describePlayerError, describeFailure } from './plain-words.js';
