/** alerts: the flag model, its store, and the MQTT bridge (docs/mqtt.md). */
export {
  FLAG_KINDS,
  flagId,
  sanitizeFlag,
  type Evidence,
  type Flag,
  type FlagKind,
  type FlagObservation,
  type FlagTransition,
} from './flag.js';
export { adviceFor } from './advice.js';
export { FlagStore } from './flag-store.js';
export { MqttBridge } from './mqtt-bridge.js';
export type { MqttPublishOptions, MqttTransport, MqttTransportEvents, MqttWill } from './mqtt-transport.js';
export {
  GATEWAY_FLAG_MESSAGE_LIMITS,
  gatewayFlagMessage,
  gatewayFlagsMessage,
  isGatewayFlagMessage,
  parseGatewayFlagMessage,
} from './flag-messages.js';
export { type CameraStateInput } from './camera-state-topics.js';
export { type MqttBridgeOptions } from './mqtt-options.js';
export { startEmbeddedBroker } from './embedded-broker.js';
export { exposureOf, type ExposurePayload, type HomeExposurePayload, type Topics } from './topics.js';
