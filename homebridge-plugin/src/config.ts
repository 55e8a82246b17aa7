/**
 * The platform block of config.json, validated at start. A bad camera entry
 * is reported with its path (`cameras[2].url: …`) and skipped; the others
 * run. Camera entries follow @camgate/core's `cameraSchema`, so one camera
 * list serves the gateway, the hub and this plugin.
 */
import { CONFIG_PATTERNS, GATEWAY_SECRET_MIN_LENGTH, cameraSchema, type CameraConfig } from '@camgate/core';

export interface MediaSettings {
  /** A Kurento Media Server URL; without it the built-in engine runs inside Homebridge. */
  kurentoUrl?: string;
  /** IPv4 address of this host that Apple devices reach (the built-in engine sends from it). */
  interfaceAddress?: string;
}

export interface ExposureSettings {
  /** MQTT broker where camgate publishes flags (docs/mqtt.md); without it the sensors follow the local flag file. */
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** Unix socket where `camgate canary --report` delivers what the LAN canary saw (docs/exposure.md); off when unset. */
  canary?: string;
  /** Topic prefix of camgate's MQTT bridge. */
  baseTopic: string;
}

export interface HubSettings {
  url: string;
  gatewayId: string;
  secret: string;
  fingerprint256?: string;
  /**
   * Keep each camera pulled by the media backend so a viewer's first picture
   * comes at once (the gateway's `keepWarm: 'auto'`); false pulls a camera
   * only while someone watches. Default true.
   */
  keepWarm: boolean;
}

export interface PluginSettings {
  cameras: CameraConfig[];
  media: MediaSettings;
  exposure: ExposureSettings;
  hub?: HubSettings;
}

export interface SettingsProblems {
  /** One line per problem, with its path; never a secret's value. */
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalBoolean(o: Record<string, unknown>, key: string, path: string, problems: string[]) {
  const v = o[key];
  if (v === undefined || typeof v === 'boolean') return v;
  problems.push(`${path}.${key}: must be true or false`);
  return undefined;
}

function optionalString(o: Record<string, unknown>, key: string, path: string, problems: string[], re?: RegExp) {
  const v = o[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 2048 || (re && !re.test(v))) {
    problems.push(`${path}.${key}: must be ${re ? `a string matching ${String(re)}` : 'a string'}`);
    return undefined;
  }
  return v;
}

/** Reads the platform config; never throws. Cameras with problems are left out and listed in `problems`. */
export function readSettings(raw: unknown): PluginSettings & SettingsProblems {
  const problems: string[] = [];
  const cfg = isObject(raw) ? raw : {};
  const cameras: CameraConfig[] = [];
  const seen = new Set<string>();
  const list = cfg.cameras ?? [];
  if (!Array.isArray(list)) problems.push('cameras: must be a list');
  else
    list.forEach((entry: unknown, i: number) => {
      const r = cameraSchema.safeParse(entry);
      if (!r.success) {
        for (const issue of r.error.issues) {
          problems.push(`cameras[${i}]${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
        }
        return;
      }
      if (seen.has(r.data.id)) {
        problems.push(`cameras[${i}].id: duplicate id "${r.data.id}"`);
        return;
      }
      seen.add(r.data.id);
      cameras.push(r.data);
    });

  const m = isObject(cfg.media) ? cfg.media : {};
  const media: MediaSettings = {};
  const kurentoUrl = optionalString(m, 'kurentoUrl', 'media', problems, CONFIG_PATTERNS.wsUrl);
  if (kurentoUrl) media.kurentoUrl = kurentoUrl;
  const ifAddr = optionalString(m, 'interfaceAddress', 'media', problems, /^\d{1,3}(\.\d{1,3}){3}$/);
  if (ifAddr) media.interfaceAddress = ifAddr;

  const e = isObject(cfg.exposure) ? cfg.exposure : {};
  const exposure: ExposureSettings = {
    baseTopic: optionalString(e, 'baseTopic', 'exposure', problems, /^[^#+\s]{1,64}$/) ?? 'camgate',
  };
  const mqttUrl = optionalString(e, 'mqttUrl', 'exposure', problems, CONFIG_PATTERNS.mqttUrl);
  if (mqttUrl) exposure.mqttUrl = mqttUrl;
  const mu = optionalString(e, 'mqttUsername', 'exposure', problems);
  if (mu) exposure.mqttUsername = mu;
  const mp = optionalString(e, 'mqttPassword', 'exposure', problems);
  if (mp) exposure.mqttPassword = mp;
  const canary = optionalString(e, 'canary', 'exposure', problems, /^\/.{0,99}$/);
  if (canary) exposure.canary = canary;

  let hub: HubSettings | undefined;
  if (cfg.hub !== undefined) {
    const h = isObject(cfg.hub) ? cfg.hub : {};
    const url = optionalString(h, 'url', 'hub', problems, CONFIG_PATTERNS.wsUrl);
    const gatewayId = optionalString(h, 'gatewayId', 'hub', problems, CONFIG_PATTERNS.id);
    let secret = optionalString(h, 'secret', 'hub', problems);
    if (secret !== undefined && secret.length < GATEWAY_SECRET_MIN_LENGTH) {
      // The same minimum as the gateway config: a short secret is a typing mistake, never the one the hub issued.
      problems.push(
        `hub.secret: must be at least ${GATEWAY_SECRET_MIN_LENGTH} characters (use \`camgate hub add-gateway\`)`,
      );
      secret = undefined;
    }
    const fp = optionalString(h, 'fingerprint256', 'hub', problems, CONFIG_PATTERNS.fingerprint256);
    // A value that is not a boolean is reported and the default (on) is used, like any other bad optional field.
    const keepWarm = optionalBoolean(h, 'keepWarm', 'hub', problems) ?? true;
    // A pin that does not parse must not quietly become no pin: the hub stays off until it is fixed.
    const badPin = h.fingerprint256 !== undefined && h.fingerprint256 !== '' && !fp;
    if (badPin) problems.push('hub: fingerprint256 is not a SHA-256 fingerprint; the hub connection is off');
    else if (url && gatewayId && secret)
      hub = { url, gatewayId, secret, ...(fp ? { fingerprint256: fp } : {}), keepWarm };
    else problems.push('hub: needs url, gatewayId and secret; the hub connection is off');
  }
  return { cameras, media, exposure, ...(hub ? { hub } : {}), problems };
}

/**
 * The gateway's `keepWarm` for the hub settings. On means 'auto', not true:
 * warming pays off only on the built-in engine, which shares one pull per
 * camera between all players; on Kurento Media Server it would cost a pull
 * per camera and save nothing.
 */
export function gatewayKeepWarm(hub: HubSettings): false | 'auto' {
  return hub.keepWarm === false ? false : 'auto';
}
