export { TUNNEL_CLOSE, CHANNEL_CLOSE } from './constants.js';
export { hashSecret, verifySecret, generateSecret, generateGatewayId } from './auth.js';
export { makeVerifier, parseVerifier, scryptParamsProblem } from './scram.js';
export type { LookupVerifier } from './server-auth.js';
export { Channel } from './channel.js';
export { TunnelServer, type AuthRequest, type TunnelServerOptions } from './server.js';
export { TunnelPeer } from './peer.js';
export {
  TunnelClient,
  TUNNEL_REPLACED_CODE,
  type TunnelClientOptions,
  type TunnelState,
  type TunnelStateInfo,
} from './client.js';
