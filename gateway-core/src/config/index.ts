export { describeYamlError, loadConfigFile, validateConfig, formatIssues } from './load.js';
export {
  cameraSchema,
  gatewayConfigSchema,
  hubConfigSchema,
  idSchema,
  type CameraConfig,
  type GatewayConfig,
  type HubConfig,
} from './schema.js';
