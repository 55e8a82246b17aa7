/**
 * The platform block of config.json, validated at start. A bad camera entry
 * is reported with its path (`cameras[2].url: …`) and skipped; the others
 * run. Camera entries follow @camgate/core's `cameraSchema`, so one camera
 * list serves the gateway, the hub and this plugin; keys it does not know
 * (an entry copied from homebridge-camera-ffmpeg) and empty optional strings
 * are dropped with a warning instead (camera-entry.ts).
 */
import { CONFIG_PATTERNS, GATEWAY_SECRET_MIN_LENGTH, type CameraConfig, type GatewayAuditOptions } from '@camgate/core';
import { readCameraEntry } from './camera-entry.js';
import { readCameraSound, type CameraSound } from './camera-sound.js';

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
  /** Accept viewers' LAN addresses in ICE candidates and SDP (core's gateway option of the same name). Default false. */
  allowLanViewers: boolean;
}

export interface PluginSettings {
  cameras: CameraConfig[];
  /** Each camera's sound options by camera id (camera-sound.ts). */
  sound: Record<string, CameraSound>;
  media: MediaSettings;
  exposure: ExposureSettings;
  hub?: HubSettings;
  /**
   * Keep each camera pulled by the media backend so the first picture of a
   * stream and every snapshot come from the engine's cache at once (core's
   * `keepWarm: 'auto'`), with or without a hub; false pulls a camera only
   * while someone watches. Default true.
   */
  keepWarm: boolean;
  /** How long a snapshot decoded from the cached keyframe is served again, ms. */
  snapshotCacheMs: number;
  /** The LAN audit of this plugin's own gateway (telnet, UPnP mappings, default passwords); false: off. */
  audit: GatewayAuditOptions | false;
}

export interface SettingsProblems {
  /** One line per problem, with its path; never a secret's value. What it names is skipped or off. */
  problems: string[];
  /** One line per thing accepted but ignored (keys copied from another plugin, moved options). */
  warnings: string[];
}

export const DEFAULT_PLUGIN_SETTINGS = {
  keepWarm: true,
  snapshotCacheSeconds: 5, // s: Home asks for a picture per tile every ~10 s while the app is open
  maxSnapshotCacheSeconds: 60,
  auditIntervalHours: 6, // as core's gateway (DEFAULT_FLAG_SERVICE_OPTIONS)
  maxAuditIntervalHours: 7 * 24,
} as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalBoolean(o: Record<string, unknown>, key: string, path: string, problems: string[]) {
  const v = o[key];
  if (v === undefined || typeof v === 'boolean') return v;
  problems.push(`${path ? `${path}.` : ''}${key}: must be true or false`);
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
  const warnings: string[] = [];
  const cfg = isObject(raw) ? raw : {};
  const cameras: CameraConfig[] = [];
  const sound: Record<string, CameraSound> = {};
  const seen = new Set<string>();
  const list = cfg.cameras ?? [];
  if (!Array.isArray(list)) problems.push('cameras: must be a list');
  else
    list.forEach((entry: unknown, i: number) => {
      const cam = readCameraEntry(entry, `cameras[${i}]`, problems, warnings);
      if (!cam) return;
      if (seen.has(cam.id)) {
        problems.push(`cameras[${i}].id: duplicate id "${cam.id}"`);
        return;
      }
      seen.add(cam.id);
      cameras.push(cam);
      sound[cam.id] = readCameraSound(entry, `cameras[${i}]`, problems);
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
    const allowLanViewers = optionalBoolean(h, 'allowLanViewers', 'hub', problems) ?? false;
    // A pin that does not parse must not quietly become no pin: the hub stays off until it is fixed.
    const badPin = h.fingerprint256 !== undefined && h.fingerprint256 !== '' && !fp;
    if (badPin) problems.push('hub: fingerprint256 is not a SHA-256 fingerprint; the hub connection is off');
    else if (url && gatewayId && secret)
      hub = { url, gatewayId, secret, ...(fp ? { fingerprint256: fp } : {}), allowLanViewers };
    else problems.push('hub: needs url, gatewayId and secret; the hub connection is off');
  }
  return {
    cameras,
    sound,
    media,
    exposure,
    ...(hub ? { hub } : {}),
    keepWarm: readKeepWarm(cfg, problems, warnings),
    snapshotCacheMs: readSnapshotCacheMs(cfg, problems),
    audit: readAudit(cfg.audit, problems),
    problems,
    warnings,
  };
}

/**
 * `keepWarm` (top level, default on). Before keep-warm worked without a hub it lived in `hub.keepWarm`:
 * that place is still read when the top-level one is absent, with a warning, so no config changes meaning.
 */
function readKeepWarm(cfg: Record<string, unknown>, problems: string[], warnings: string[]): boolean {
  const top = optionalBoolean(cfg, 'keepWarm', '', problems);
  const h = isObject(cfg.hub) ? cfg.hub : {};
  if (h.keepWarm !== undefined) {
    const legacy = optionalBoolean(h, 'keepWarm', 'hub', problems);
    if (top === undefined && legacy !== undefined) {
      warnings.push('hub.keepWarm: moved to keepWarm (top level); honoured here until you move it');
      return legacy;
    }
    if (top !== undefined) warnings.push('hub.keepWarm: ignored, keepWarm (top level) is set');
  }
  return top ?? DEFAULT_PLUGIN_SETTINGS.keepWarm;
}

function readSnapshotCacheMs(cfg: Record<string, unknown>, problems: string[]): number {
  const v = cfg.snapshotCacheSeconds;
  const max = DEFAULT_PLUGIN_SETTINGS.maxSnapshotCacheSeconds;
  if (v === undefined) return DEFAULT_PLUGIN_SETTINGS.snapshotCacheSeconds * 1000;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    problems.push(`snapshotCacheSeconds: must be a number of seconds from 0 to ${max}; using the default`);
    return DEFAULT_PLUGIN_SETTINGS.snapshotCacheSeconds * 1000;
  }
  return Math.round(v * 1000);
}

/** `host` or `host:port` of an IPv4 router that answers SSDP unicast (routers that ignore multicast; tests). */
export const ROUTER_ADDRESS = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/;

/**
 * The LAN audit block: on by default, as on core's gateway (FlagService). Only the configured cameras are
 * probed; the UPnP check asks the router (SSDP multicast, or `routerAddress`).
 */
function readAudit(raw: unknown, problems: string[]): GatewayAuditOptions | false {
  if (raw !== undefined && !isObject(raw)) {
    problems.push('audit: must be an object; the LAN audit is off');
    return false;
  }
  const a = raw ?? {};
  if (optionalBoolean(a, 'enabled', 'audit', problems) === false) return false;
  const out: GatewayAuditOptions = {};
  const hours = a.intervalHours;
  const maxHours = DEFAULT_PLUGIN_SETTINGS.maxAuditIntervalHours;
  if (hours !== undefined && (typeof hours !== 'number' || !(hours >= 0.01) || hours > maxHours))
    problems.push(`audit.intervalHours: must be a number of hours from 0.01 to ${maxHours}; using the default`);
  out.intervalMs = Math.round(
    (typeof hours === 'number' && hours >= 0.01 && hours <= maxHours
      ? hours
      : DEFAULT_PLUGIN_SETTINGS.auditIntervalHours) * 3_600_000,
  );
  const telnet = optionalBoolean(a, 'telnet', 'audit', problems);
  if (telnet !== undefined) out.telnet = telnet;
  const creds = optionalBoolean(a, 'defaultCredentials', 'audit', problems);
  if (creds !== undefined) out.defaultCredentials = creds;
  const upnp = optionalBoolean(a, 'upnp', 'audit', problems);
  const router = optionalString(a, 'routerAddress', 'audit', problems, ROUTER_ADDRESS);
  const m = router ? ROUTER_ADDRESS.exec(router) : null;
  if (upnp === false) out.upnp = false;
  else if (m) out.upnp = { ssdpAddress: m[1]!, ...(m[2] ? { ssdpPort: Number(m[2]) } : {}) };
  return out;
}

/**
 * The gateway's `keepWarm` for the plugin's setting. On means 'auto', not true:
 * warming pays off only on the built-in engine, which shares one pull per
 * camera between all players; on Kurento Media Server it would cost a pull
 * per camera and save nothing.
 */
export function gatewayKeepWarm(keepWarm: boolean): false | 'auto' {
  return keepWarm ? 'auto' : false;
}
