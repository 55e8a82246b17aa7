/**
 * Kurento protocol library: JSON-RPC 2.0 codec, Kurento message types and
 * error codes, the gateway's policy and a small typed client.
 */
export {
  parseMessage,
  isRequest,
  isResponse,
  errorResponse,
  serializeMessage,
  JSONRPC_PARSE_ERROR,
  type JsonObject,
  type JsonRpcRequest,
  type JsonRpcNotification,
  type JsonRpcMessage,
} from './jsonrpc.js';
export { BUILTIN_ENGINE_SERVER, SERVER_MANAGER_ID, POLICY_DENIED_RPC_CODE } from './types.js';
export { DEFAULT_KURENTO_RULES, type KurentoRules } from './policy-rules.js';
export { KurentoPolicy, PolicySession } from './policy.js';
export { talkGrantFromMeta } from './policy-talk.js';
export {
  parseMediaTarget,
  parseRelayUri,
  targetListAllows,
  type MediaTarget,
  type MediaTargetRules,
} from './policy-targets.js';
export { KurentoClient, KurentoRpcError } from './client.js';
