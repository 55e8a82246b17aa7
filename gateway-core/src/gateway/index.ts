export { Gateway, DEFAULT_GATEWAY_OPTIONS, type GatewayOptions, type GatewayEvents } from './gateway.js';
export { CameraRegistry, type AnnouncedCamera } from './camera-registry.js';
