import type { Flag, FlagKind } from './flag.js';

/**
 * MQTT topic names and the exposure summary. The topic table is documented
 * in docs/mqtt.md; keep the two in step.
 */

/** Longest id we accept as one topic level (MQTT allows 65535 bytes per topic; brokers and HA want far less). */
const MAX_LEVEL_CHARS = 128;

/** Level separator, wildcards (MQTT 3.1.1 §4.7.1), NUL (§4.7.3) and other control characters. */
// eslint-disable-next-line no-control-regex
const BAD_LEVEL_CHARS = /[/+#\u0000-\u001f\u007f]/;

/**
 * Checks that `value` is usable as ONE topic level: non-empty, no `/`
 * (level separator), no `+` or `#` (wildcards, MQTT 3.1.1 §4.7.1), no NUL
 * (§4.7.3), no leading `$` (reserved for broker topics, §4.7.2), no control
 * characters. Throws a RangeError naming `name`.
 */
export function assertTopicLevel(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  if (value === '' || value.length > MAX_LEVEL_CHARS || BAD_LEVEL_CHARS.test(value) || value.startsWith('$')) {
    throw new RangeError(
      `${name} ${JSON.stringify(value.slice(0, 64))} is not a valid MQTT topic level: 1-${MAX_LEVEL_CHARS} characters, no '/', '+', '#', control characters or leading '$'`,
    );
  }
  return value;
}

/** A topic prefix such as `camgate` or `home/camgate`: one or more valid levels. */
export function assertTopicPrefix(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  value.split('/').forEach((level) => assertTopicLevel(name, level));
  return value;
}

/** `[a-zA-Z0-9_-]` only: the characters Home Assistant allows in a discovery object id. */
export function haSafe(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export interface Topics {
  /** `online` while the gateway's hub tunnel is connected and accepted, else `offline`; retained. */
  status: string;
  /** `online` while the MQTT bridge runs, `offline` on close and as its last will; retained. */
  bridge: string;
  /** Summary over the home-wide flags (no camera named), with their evidence and advice; retained. */
  homeExposure: string;
  /** Summary over every flag of the gateway (camera or not), retained. */
  gatewayExposure: string;
  /** Per-camera summary, retained. */
  exposure(cameraId: string): string;
  /** One flag as JSON, retained. */
  flag(flagId: string): string;
  /** Home Assistant discovery config of the camera's binary sensor. */
  discovery(cameraId: string): string;
  /** Home Assistant discovery config of the home-wide "Home network exposure" binary sensor. */
  homeDiscovery: string;
}

/**
 * Object id of the home-wide sensor. Every per-camera id starts `camgate_`; this one starts `camgate-`
 * (camera and gateway ids start with a letter or digit), so no camera can ever take it.
 */
export function homeObjectId(gatewayId: string): string {
  return `camgate-home_${haSafe(gatewayId)}`;
}

export function topicsFor(baseTopic: string, gatewayId: string, discoveryPrefix: string): Topics {
  const gw = `${baseTopic}/${gatewayId}`;
  return {
    status: `${gw}/status`,
    // One level under the gateway, like `status`: camera topics are two levels (`<camera>/exposure`).
    bridge: `${gw}/bridge`,
    homeExposure: `${gw}/home-exposure`,
    gatewayExposure: `${gw}/exposure`,
    exposure: (cameraId) => `${gw}/${cameraId}/exposure`,
    flag: (flagId) => `${gw}/flags/${flagId}`,
    discovery: (cameraId) => `${discoveryPrefix}/binary_sensor/camgate_${haSafe(gatewayId)}_${haSafe(cameraId)}/config`,
    homeDiscovery: `${discoveryPrefix}/binary_sensor/${homeObjectId(gatewayId)}/config`,
  };
}

export type ExposureState = 'exposed' | 'at-risk' | 'ok';

export interface ExposurePayload {
  /** `exposed`: reachable from the internet now; `at-risk`: a LAN weakness; `ok`: nothing raised. */
  state: ExposureState;
  /** Ids of the raised flags behind the state. */
  flags: string[];
  /** Time of the latest raise or clear behind this summary (ISO 8601). */
  updatedAt: string;
}

/** Kinds that mean the camera is reachable from the internet right now. */
const EXPOSING: ReadonlySet<FlagKind> = new Set<FlagKind>(['exposed', 'direct-connection']);

/** What the home-wide sensor shows of one flag (its attributes in Home Assistant). */
export interface HomeFlagDetail {
  id: string;
  kind: FlagKind;
  key?: string;
  source: Flag['source'];
  raisedAt: string;
  advice: string;
  /** The latest few observations. */
  evidence: Flag['evidence'];
}

export interface HomeExposurePayload extends ExposurePayload {
  /** The raised home-wide flags, newest first, at most HOME_DETAIL_LIMITS.flags of them. */
  details: HomeFlagDetail[];
}

/** Home Assistant keeps attributes in its recorder only below 16 KiB: a few flags with a few observations each. */
export const HOME_DETAIL_LIMITS = { flags: 8, evidence: 3 } as const;

/** The home-wide summary: the flags that name no camera (the hub could not tell which camera answers). */
export function homeExposureOf(flags: readonly Flag[], fallbackTime: string): HomeExposurePayload {
  const home = flags.filter((f) => f.cameraId === undefined);
  const details = home
    .filter((f) => f.state === 'raised')
    .sort((a, b) => (a.raisedAt < b.raisedAt ? 1 : a.raisedAt > b.raisedAt ? -1 : 0))
    .slice(0, HOME_DETAIL_LIMITS.flags)
    .map((f) => {
      const d: HomeFlagDetail = {
        id: f.id,
        kind: f.kind,
        source: f.source,
        raisedAt: f.raisedAt,
        advice: f.advice,
        evidence: f.evidence.slice(-HOME_DETAIL_LIMITS.evidence),
      };
      if (f.key !== undefined) d.key = f.key;
      return d;
    });
  return { ...exposureOf(home, fallbackTime), details };
}

/** Summarises `flags` (already filtered to one camera or one gateway). `fallbackTime` when none ever changed. */
export function exposureOf(flags: readonly Flag[], fallbackTime: string): ExposurePayload {
  const raised = flags.filter((f) => f.state === 'raised');
  const state: ExposureState = raised.some((f) => EXPOSING.has(f.kind)) ? 'exposed' : raised.length ? 'at-risk' : 'ok';
  let updatedAt = '';
  for (const f of flags) {
    for (const t of [f.raisedAt, f.clearedAt]) if (t && t > updatedAt) updatedAt = t;
  }
  return { state, flags: raised.map((f) => f.id).sort(), updatedAt: updatedAt || fallbackTime };
}
