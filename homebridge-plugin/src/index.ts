import type { API } from 'homebridge';
import { CamgatePlatform } from './platform.js';
import { PLATFORM_NAME, PLUGIN_NAME } from './settings.js';

/** Homebridge's entry point: registers the platform, nothing else (plugin template `src/index.ts`). */
export default (api: API): void => {
  api.registerPlatform(PLUGIN_NAME, PLATFORM_NAME, CamgatePlatform);
};
