export { TUNNEL_PROTOCOL_VERSION, TUNNEL_CLOSE, CHANNEL_CLOSE } from './constants.js';
export { hashSecret, verifySecret, generateSecret, generateGatewayId } from './auth.js';
export {
  makeVerifier,
  parseVerifier,
  scryptParamsProblem,
  DEFAULT_SCRAM_PARAMS,
  SCRAM_BOUNDS,
  type ScryptParams,
  type ScramVerifier,
} from './scram.js';
export type { LookupVerifier } from './server-auth.js';
export { Channel, type ChannelState, type ChannelCloseInfo } from './channel.js';
export {
  TunnelServer,
  DEFAULT_TUNNEL_SERVER_OPTIONS,
  type AuthRequest,
  type AuthDecision,
  type TunnelServerOptions,
  type TunnelServerEvents,
} from './server.js';
export { TunnelPeer } from './peer.js';
export {
  TunnelClient,
  DEFAULT_TUNNEL_CLIENT_OPTIONS,
  TUNNEL_REPLACED_CODE,
  type TunnelClientOptions,
  type TunnelBackoffOptions,
  type TunnelState,
  type TunnelStateInfo,
} from './client.js';
export type { TunnelTlsOptions } from './client-tls.js';
export { DEFAULT_TUNNEL_COMMON_OPTIONS, type TunnelCommonOptions } from './options.js';
