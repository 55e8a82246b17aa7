export { Gateway, DEFAULT_GATEWAY_OPTIONS, type GatewayOptions, type GatewayEvents } from './gateway.js';
export { DEFAULT_GATEWAY_MEDIA_OPTIONS, type GatewayMediaOptions } from './media-targets.js';
export { CameraRegistry, cameraUriWithCredentials, type AnnouncedCamera } from './camera-registry.js';
export { type GatewayCameraState, type GatewayCameraStateName } from './camera-state.js';
export { CameraWarmer, type CameraWarmerOptions } from './keep-warm.js';
export {
  FlagService,
  DEFAULT_FLAG_SERVICE_OPTIONS,
  auditCamera,
  type FlagServiceOptions,
  type FlagServiceEvents,
  type GatewayAuditOptions,
  type GatewayMqttOptions,
} from './flag-service.js';
export { HubFlagSync, flagForHub, type HubFlagSyncOptions, type HubFlagTunnel } from './hub-flag-sync.js';
export {
  TakeoverWatch,
  DEFAULT_TAKEOVER_WATCH_OPTIONS,
  type TakeoverWatchOptions,
  type TunnelStateSource,
} from './takeover-watch.js';
export {
  ExposureResponder,
  DEFAULT_EXPOSURE_RESPONDER_OPTIONS,
  type ExposureResponderEvents,
  type ExposureResponderGateway,
  type ExposureResponderOptions,
} from './exposure-responder.js';
