import { availableParallelism } from 'node:os';
import { MediaObject, type ObjectHost } from './media-object.js';
// types.js, not index.js: the index would load the whole Kurento client and policy into the engine.
import { BUILTIN_ENGINE_SERVER, SERVER_MANAGER_ID } from '../../kurento/types.js';
import { SERVER_MANAGER_TYPE } from './types.js';
import { parseCameraProfiles, type CameraProfile } from '../camera-profiles.js';

export { SERVER_MANAGER_ID };

/** Version the engine reports: the protocol level of the kurento-client it is tested with. */
export const ENGINE_KMS_VERSION = '7.3.0';

export interface ServerManagerView {
  pipelineIds(): string[];
  sessionIds(): string[];
  /** Factories per module name, as `getInfo` lists them. */
  factories(): Record<'core' | 'elements' | 'filters', string[]>;
  /** Takes the gateway's camera profiles (`setCameraProfiles`); throws NOT_IMPLEMENTED without a media plane. */
  setCameraProfiles(profiles: ReadonlyMap<string, CameraProfile>): void;
}

/**
 * The ServerManager. `getInfo` lists the modules `core`, `elements` and
 * `filters` because kurento-client's strict mode refuses a server that lacks
 * one of the modules it registered (KurentoClient.js, `options.strict`);
 * each module lists only the factories the engine really provides.
 */
export class ServerManager extends MediaObject {
  constructor(host: ObjectHost, view: ServerManagerView) {
    super(host, SERVER_MANAGER_TYPE, SERVER_MANAGER_ID, '');
    const generationTime = new Date().toISOString();
    this.define('getInfo', () => {
      const factories = view.factories();
      return {
        __module__: 'kurento',
        __type__: 'ServerInfo',
        version: ENGINE_KMS_VERSION,
        type: 'KMS', // ServerType enum: KMS | KCS
        capabilities: ['transactions'],
        modules: (['core', 'elements', 'filters'] as const).map((name) => ({
          __module__: 'kurento',
          __type__: 'ModuleInfo',
          name,
          version: ENGINE_KMS_VERSION,
          generationTime,
          factories: factories[name],
        })),
      };
    });
    this.define('getKmsVersion', () => ENGINE_KMS_VERSION);
    this.define('getPipelines', () => view.pipelineIds());
    this.define('getSessions', () => view.sessionIds());
    this.define('getMetadata', () => JSON.stringify({ server: BUILTIN_ENGINE_SERVER }));
    this.define('getCpuCount', () => availableParallelism());
    this.define('getUsedMemory', () => Math.round(process.memoryUsage().rss / 1024)); // KiB, like KMS
    // camgate's own extension, not in core.kmd.json: the gateway names its cameras (ids for the logs, transcode
    // mode) on its own backend connection. It answers with the number of cameras only, never a URI.
    this.define('setCameraProfiles', (p) => {
      const profiles = parseCameraProfiles(p);
      view.setCameraProfiles(profiles);
      return profiles.size;
    });
    this.refuse(['getKmd'], 'module descriptors are not served');
    this.refuse(['getUsedCpu'], 'CPU sampling is not implemented');
  }
}
