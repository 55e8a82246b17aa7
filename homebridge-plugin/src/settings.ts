/** The name users put in config.json's `platforms[].platform`. */
export const PLATFORM_NAME = 'Camgate';

/** Must match `name` in package.json (Homebridge registers accessories under it). */
export const PLUGIN_NAME = 'homebridge-camgate';

/** Namespace of accessory UUIDs: a camera's UUID is derived from this and its stable id. */
export const UUID_NAMESPACE = 'camgate:camera:';

/** The flags file the exposure sensors are driven by, in Homebridge's storage directory. */
export const FLAG_STORE_FILE = 'camgate-flags.jsonl';

/** UUID seed of the home-wide "Home network exposure" sensor accessory. */
export const UUID_HOME_SENSOR = 'camgate:home-exposure';

/** The gateway id of this plugin's flags when no hub gives one (flags need a gateway; it never leaves this host). */
export const LOCAL_GATEWAY_ID = 'homebridge';
