export { Gateway, DEFAULT_GATEWAY_OPTIONS, type GatewayOptions, type GatewayEvents } from './gateway.js';
export { CameraRegistry, cameraUriWithCredentials } from './camera-registry.js';
export { CameraWarmer, type CameraWarmerOptions } from './keep-warm.js';
export { type GatewayCameraState, type GatewayCameraStateName } from './camera-state.js';
export {
  FlagService,
  DEFAULT_FLAG_SERVICE_OPTIONS,
  type FlagServiceOptions,
  type FlagServiceEvents,
  type GatewayCompromiseOptions,
  type GatewayMqttOptions,
} from './flag-service.js';
export { type GatewayAuditOptions } from './audit-schedule.js';
export { HubFlagSync, type HubFlagSyncOptions } from './hub-flag-sync.js';
export { TakeoverWatch, DEFAULT_TAKEOVER_WATCH_OPTIONS, type TakeoverWatchOptions } from './takeover-watch.js';
export {
  ExposureResponder,
  DEFAULT_EXPOSURE_RESPONDER_OPTIONS,
  type ExposureResponderOptions,
} from './exposure-responder.js';
export { CompromiseWatch, type CompromiseWatchOptions } from './compromise-watch.js';
