/** alerts: the flag model, its store, and the MQTT bridge (docs/mqtt.md). */
export {
  FLAG_KINDS,
  FLAG_LIMITS,
  flagId,
  sanitizeFlag,
  sanitizeObservation,
  sanitizeText,
  type Evidence,
  type Flag,
  type FlagKind,
  type FlagObservation,
  type FlagTransition,
} from './flag.js';
export { adviceFor, type AdviceContext } from './advice.js';
export {
  GATEWAY_FLAG_MESSAGE_LIMITS,
  gatewayFlagMessage,
  gatewayFlagsMessage,
  isGatewayFlagMessage,
  parseGatewayFlagMessage,
  type GatewayFlagMessage,
} from './flag-messages.js';
export {
  DEFAULT_FLAG_STORE_OPTIONS,
  FlagStore,
  type FlagFilter,
  type FlagStoreOptions,
  type ReconcileScope,
} from './flag-store.js';
export { MqttBridge } from './mqtt-bridge.js';
export type { MqttPublishOptions, MqttTransport, MqttTransportEvents, MqttWill } from './mqtt-transport.js';
export {
  cameraAvailability,
  cameraStatePayload,
  cameraStateTopics,
  connectivityDiscovery,
  type CameraStateInput,
  type CameraStatePayload,
} from './camera-state-topics.js';
export { DEFAULT_MQTT_BRIDGE_OPTIONS, type MqttBridgeOptions } from './mqtt-options.js';
export {
  DEFAULT_EMBEDDED_BROKER_OPTIONS,
  startEmbeddedBroker,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from './embedded-broker.js';
export {
  binarySensorDiscovery,
  haAvailability,
  homeSensorDiscovery,
  type HaAvailability,
  type HaBinarySensorConfig,
  type HaDevice,
} from './ha-discovery.js';
export {
  assertTopicLevel,
  exposureOf,
  homeExposureOf,
  topicsFor,
  HOME_DETAIL_LIMITS,
  type HomeExposurePayload,
  type HomeFlagDetail,
  type ExposurePayload,
  type ExposureState,
  type Topics,
} from './topics.js';
