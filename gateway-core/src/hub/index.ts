export { Hub, type HubEvents } from './hub.js';
export { DEFAULT_HUB_OPTIONS, type HubOptions } from './hub-options.js';
export { type HubTimeouts } from './abuse/timeouts.js';
export { ApiTokenVerifier, mintApiToken } from './api-tokens.js';
export { ClientAddressResolver } from './abuse/client-address.js';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './abuse/connection-guard.js';
export { GatewayDirectory } from './gateway-directory.js';
export { type GatewayStatus } from './api.js';
export { ApiAuthGuard, DEFAULT_API_AUTH_LIMITS, type ApiAuthLimits } from './api-auth.js';
export { ExposureService, type ExposureServiceEvents, type ExposureView } from './exposure-service.js';
export { DEFAULT_EXPOSURE_SERVICE_OPTIONS, type ExposureServiceConfig } from './exposure-options.js';
export {
  TurnCredentialMinter,
  mintTurnCredentials,
  kurentoTurnUrl,
  type TurnOptions,
  type TurnCredentials,
  type TurnIceServer,
} from './turn.js';
export {
  ViewerApp,
  DEFAULT_VIEWER_OPTIONS,
  PLAIN as VIEWER_ERRORS,
  type ViewerOptions,
  type ViewerIceConfig,
  type CameraEntry,
  type ExposureState,
} from './viewer/index.js';
export {
  addUser,
  setUserTalk,
  generatePassword,
  UserDirectory,
  type UserRecord,
  type AddUserOptions,
  type AddUserResult,
} from './accounts/index.js';
