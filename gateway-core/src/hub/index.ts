export { Hub, DEFAULT_HUB_OPTIONS, type HubOptions, type HubEvents } from './hub.js';
export { DEFAULT_HUB_TIMEOUTS, type HubTimeouts } from './abuse/timeouts.js';
export {
  ApiTokenVerifier,
  mintApiToken,
  storedApiTokenProblem,
  API_TOKEN_PATTERN,
  STORED_API_TOKEN_PATTERN,
  type TokenCheck,
} from './api-tokens.js';
export { ClientAddressResolver, parseTrustedProxies, type ForwardedHeader } from './abuse/client-address.js';
export {
  ConnectionGuard,
  DEFAULT_CONNECTION_LIMITS,
  type ConnectionLimits,
  type ConnectionGuardStats,
} from './abuse/connection-guard.js';
export { GatewayDirectory, AUTH_FAILED_REASON, type GatewayRecord } from './gateway-directory.js';
export { HubApi, type GatewayStatus } from './api.js';
export {
  GatewayFlagBoard,
  DEFAULT_GATEWAY_FLAG_BOARD_OPTIONS,
  type GatewayFlagBoardOptions,
  type GatewayFlagBoardEvents,
} from './gateway-flags.js';
export { ApiAuthGuard, DEFAULT_API_AUTH_LIMITS, type ApiAuthLimits } from './api-auth.js';
export {
  ExposureService,
  DEFAULT_EXPOSURE_SERVICE_OPTIONS,
  type ExposureServiceConfig,
  type ExposureServiceOptions,
  type ExposureServiceEvents,
  type ExposureView,
} from './exposure-service.js';
export {
  TurnCredentialMinter,
  DEFAULT_TURN_OPTIONS,
  mintTurnCredentials,
  turnIceServers,
  kurentoTurnUrl,
  type TurnOptions,
  type TurnCredentials,
  type TurnIceServer,
  type MintTurnCredentialsOptions,
} from './turn.js';
export {
  ViewerApp,
  DEFAULT_VIEWER_OPTIONS,
  PLAIN as VIEWER_ERRORS,
  type ViewerOptions,
  type ViewerHost,
  type ViewerIceConfig,
  type BrowserIceServer,
  type EngineIceConfig,
  type CameraEntry,
  type ExposureState,
  type ViewerFlag,
} from './viewer/index.js';
export {
  addUser,
  loadUsers,
  generatePassword,
  isGranted,
  UserDirectory,
  type UserRecord,
  type AddUserOptions,
  type AddUserResult,
} from './accounts/index.js';
