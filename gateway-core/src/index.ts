/**
 * @camgate/core — the public face. Node-RED nodes, the Homebridge plugin and
 * the CLI import from here only; everything else is internal. See README.md
 * (API) and docs/ for each part.
 */
export {
  CamgateError,
  hasCode,
  redact,
  createLogger,
  defaultLogger,
  memorySink,
  SecretSet,
  classifyHost,
  isLanAddress,
  isLoopbackHost,
  type HostClass,
  type Logger,
  type LogRecord,
  type LogSink,
} from './util/index.js';
export {
  loadConfigFile,
  validateConfig,
  gatewayConfigSchema,
  hubConfigSchema,
  cameraSchema,
  CONFIG_PATTERNS,
  GATEWAY_SECRET_MIN_LENGTH,
  type CameraConfig,
  type GatewayConfig,
  type HubConfig,
} from './config/index.js';

// The LAN side and the internet side.
export {
  Gateway,
  DEFAULT_GATEWAY_OPTIONS,
  cameraUriWithCredentials,
  type GatewayOptions,
  type GatewayEvents,
  type GatewayCameraState,
  type GatewayCameraStateName,
} from './gateway/index.js';
// Keep-warm on its own (the Homebridge plugin without a hub keeps its cameras pulled with it).
export { CameraWarmer, CameraRegistry, type CameraWarmerOptions } from './gateway/index.js';
// Flags on the LAN side (Node-RED and Homebridge listen to FlagService 'transition' or read its store).
export {
  FlagService,
  DEFAULT_FLAG_SERVICE_OPTIONS,
  type FlagServiceOptions,
  type FlagServiceEvents,
  type GatewayAuditOptions,
  type GatewayMqttOptions,
} from './gateway/index.js';
// The `secret-in-use` flag: raised on 4409 (another client took over with this gateway's secret).
export { TakeoverWatch, DEFAULT_TAKEOVER_WATCH_OPTIONS, type TakeoverWatchOptions } from './gateway/index.js';
// Exposure attribution and IPv6 announce on the LAN side (docs/exposure.md).
export {
  ExposureResponder,
  DEFAULT_EXPOSURE_RESPONDER_OPTIONS,
  type ExposureResponderOptions,
} from './gateway/index.js';
// The neighbour table the ExposureResponder reads for the cameras' global IPv6 addresses.
export { readNeighbours, type Neighbour } from './exposure/index.js';
// The gateway's own flags to the hub's viewer (FlagService does this itself when its control source is the Gateway).
export { HubFlagSync, type HubFlagSyncOptions } from './gateway/index.js';
// Compromise behaviour: the LAN canary (`camgate canary`), its report socket, the router-side conntrack reader.
export { CompromiseWatch, type CompromiseWatchOptions, type GatewayCompromiseOptions } from './gateway/index.js';
export { LanCanary, CanaryReporter, type CanaryAttempt, type LanCanaryOptions } from './exposure/index.js';
export { Hub, DEFAULT_HUB_OPTIONS, type HubOptions, type HubEvents, type GatewayStatus } from './hub/index.js';
export {
  mintApiToken,
  DEFAULT_API_AUTH_LIMITS,
  DEFAULT_CONNECTION_LIMITS,
  type ApiAuthLimits,
  type ConnectionLimits,
  type HubTimeouts,
} from './hub/index.js';
export {
  ExposureService,
  DEFAULT_EXPOSURE_SERVICE_OPTIONS,
  type ExposureServiceConfig,
  type ExposureServiceEvents,
  type ExposureView,
} from './hub/index.js';
export {
  TurnCredentialMinter,
  mintTurnCredentials,
  kurentoTurnUrl,
  type TurnOptions,
  type TurnCredentials,
  type TurnIceServer,
} from './hub/index.js';
export {
  ViewerApp,
  DEFAULT_VIEWER_OPTIONS,
  VIEWER_ERRORS,
  addUser,
  generatePassword,
  UserDirectory,
  type ViewerOptions,
  type ViewerIceConfig,
  type CameraEntry,
  type ExposureState,
  type UserRecord,
  type AddUserOptions,
  type AddUserResult,
} from './hub/index.js';
export {
  hashSecret,
  verifySecret,
  makeVerifier,
  generateSecret,
  generateGatewayId,
  type TunnelState,
  type TunnelStateInfo,
} from './tunnel/index.js';

// Kurento: the built-in engine, our typed client, the policy.
export {
  KurentoEngine,
  DEFAULT_ENGINE_OPTIONS,
  defaultEngineTokenFile,
  engineUrlWithToken,
  readEngineToken,
  type EngineOptions,
} from './engine/index.js';
export {
  KurentoClient,
  KurentoRpcError,
  KurentoPolicy,
  DEFAULT_KURENTO_RULES,
  type KurentoRules,
} from './kurento/index.js';

// Cameras: the simulated camera is its own package, @camgate/camera-sim; the RTSP/RTP building blocks it shares
// with the core are the subpath @camgate/core/rtsp-wire.

// Exposure and flags.
export {
  ExposureScanner,
  ExposureMonitor,
  LanAudit,
  TargetPolicy,
  findNmap,
  DEFAULT_EXPOSURE_PORTS,
} from './exposure/index.js';
export {
  FlagStore,
  MqttBridge,
  startEmbeddedBroker,
  adviceFor,
  FLAG_KINDS,
  type Flag,
  type FlagKind,
  type FlagObservation,
  type FlagTransition,
  type Evidence,
  type MqttBridgeOptions,
  // A wrapper's own connection (Node-RED's mqtt-broker node) is an MqttTransport the bridge publishes through.
  type MqttTransport,
  type MqttTransportEvents,
  type MqttPublishOptions,
  type MqttWill,
  // camgate-exposure summarises its own audit results.
  exposureOf,
  type CameraStateInput,
  type Topics,
  type ExposurePayload,
  type HomeExposurePayload,
} from './alerts/index.js';
