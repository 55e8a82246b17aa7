export { KurentoEngine } from './engine.js';
export { ENGINE_TOKEN_PARAM, engineUrlWithToken } from './access.js';
export { defaultEngineTokenFile, loadOrCreateEngineToken, readEngineToken } from './token-file.js';
export { DEFAULT_ENGINE_OPTIONS, resolveEngineOptions, type EngineOptions } from './options.js';
export { SERVER_MANAGER_ID } from './elements/server-manager.js';
