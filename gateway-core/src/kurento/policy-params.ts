/**
 * Parameter checks for the Kurento policy: one function per `ParamKind`, plus
 * the small helpers the method handlers share. Everything here throws
 * `PolicyDenied`; the session turns that into a JSON-RPC error response.
 */
import type { JsonObject, JsonValue } from './jsonrpc.js';
import type { KurentoRules, ParamKind, TypeRule, OperationRule } from './policy-rules.js';
import { KURENTO_MODULE_PREFIX } from './policy-rules.js';
import { NEWREF_PREFIX } from './types.js';
import { PolicyDenied } from './policy-denied.js';
import { sdpSendsAudio } from './policy-talk.js';
import type { MediaTargetRules } from './policy-targets.js';
import {
  checkIceCandidate,
  checkSdpAddresses,
  checkStunAddress,
  checkStunPort,
  checkTurnUrl,
} from './policy-targets.js';

export { PolicyDenied };

const MAX_TEXT = 1024; // bytes-ish (UTF-16 units): media descriptions, TURN URL
const MAX_SDP = 64 * 1024; // 64 KiB: an SDP offer with many candidates stays far below
const MAX_SCALAR_OBJECT_KEYS = 16;
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** RFC 3986 reg-name or IPv4, or a bracket-less IPv6 literal: no scheme, path, port or userinfo. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]{2,45})$/;
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.]{0,99}$/;
/** `camera://ID` — the only URI form a hub may put in a PlayerEndpoint. */
export const CAMERA_URI = /^camera:\/\/([A-Za-z0-9._-]{1,64})$/;

/** Shortens and de-controls hub-supplied text before it goes into a refusal message. */
export function safeDetail(v: unknown): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Refuses any key of `obj` not in `allowed` (unknown params are a smuggling channel, e.g. future URI params). */
export function onlyKeys(obj: JsonObject, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new PolicyDenied('param-not-allowed', `${where}: ${safeDetail(key)}`);
  }
}

export function requireString(obj: JsonObject, key: string, where: string, max = 256): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new PolicyDenied('malformed', `${where}: "${key}" must be a non-empty string`);
  }
  return v;
}

/**
 * Canonical form of a Kurento type name: the module prefix (`kurento.`) is
 * stripped and the case taken from the rules, so `kurento.playerendpoint`
 * matches — and is forwarded as — `PlayerEndpoint`.
 */
export function canonicalType(rules: KurentoRules, raw: unknown): string | undefined {
  if (typeof raw !== 'string' || !TYPE_NAME.test(raw)) return undefined;
  let name = raw;
  if (name.toLowerCase().startsWith(KURENTO_MODULE_PREFIX)) name = name.slice(KURENTO_MODULE_PREFIX.length);
  const lower = name.toLowerCase();
  return Object.keys(rules.types).find((t) => t.toLowerCase() === lower);
}

/** The chain of rules for `type`: itself, then each parent (`extends`). */
export function typeChain(rules: KurentoRules, type: string): TypeRule[] {
  const out: TypeRule[] = [];
  let current: string | undefined = type;
  while (current !== undefined && out.length < 16) {
    const rule: TypeRule | undefined = Object.hasOwn(rules.types, current) ? rules.types[current] : undefined;
    if (!rule) break;
    out.push(rule);
    current = rule.extends;
  }
  return out;
}

export function findOperation(rules: KurentoRules, type: string, op: string): OperationRule | undefined {
  for (const rule of typeChain(rules, type)) {
    if (Object.hasOwn(rule.operations, op)) return rule.operations[op];
  }
  return undefined;
}

export function eventAllowed(rules: KurentoRules, type: string, event: string): boolean {
  return typeChain(rules, type).some((rule) => Object.hasOwn(rule.events, event));
}

/** True for the types a `mediaPipeline` / `sink` reference must have. */
export function isElementType(rules: KurentoRules, type: string): boolean {
  let current: string | undefined = type;
  for (let i = 0; current !== undefined && i < 16; i++) {
    if (current === 'MediaElement') return true;
    current = Object.hasOwn(rules.types, current) ? rules.types[current]!.extends : undefined;
  }
  return false;
}

/** What a parameter check needs from the session. */
export interface ParamContext {
  /** Type of an object id (owned, or `newref:N` inside the current transaction); undefined when not ours. */
  typeOf(ref: string): string | undefined;
  /** Real URI for `camera://ID`, or undefined for an unknown camera. */
  resolveCamera(cameraId: string): string | undefined;
  /** Where the gateway lets the media backend send traffic (policy-targets.ts). */
  media: MediaTargetRules;
  /** Cameras this session may talk through (the hub's talk grant for the channel); empty for most sessions. */
  talkCameras: ReadonlySet<string>;
}

/**
 * Checks one parameter value against its kind and returns the value to
 * forward (identical except for `camera-uri`, which becomes the real URL).
 */
export function checkParam(
  kind: ParamKind,
  name: string,
  value: JsonValue,
  ctx: ParamContext,
  rules: KurentoRules,
): JsonValue {
  const bad = (what: string): PolicyDenied => new PolicyDenied('param-invalid', `${name}: ${what}`);
  switch (kind) {
    case 'pipeline':
    case 'element': {
      if (typeof value !== 'string') throw bad('must be an object id');
      const type = ctx.typeOf(value);
      if (type === undefined) throw new PolicyDenied('object-not-owned', `${name} ${safeDetail(value)}`);
      const ok = kind === 'pipeline' ? type === 'MediaPipeline' : isElementType(rules, type);
      if (!ok) throw bad(`must be a ${kind === 'pipeline' ? 'MediaPipeline' : 'media element'}, not ${type}`);
      return value;
    }
    case 'camera-uri': {
      if (typeof value !== 'string') throw bad('must be camera://ID');
      const m = CAMERA_URI.exec(value);
      if (!m) {
        // Report only the scheme: the rest of a refused URI may itself carry credentials.
        const scheme = /^([A-Za-z][A-Za-z0-9+.-]{0,15}):/.exec(value)?.[1] ?? 'none';
        throw new PolicyDenied('player-uri', `only camera://ID is allowed, got scheme ${safeDetail(scheme)}`);
      }
      const id = m[1]!;
      const real = ctx.resolveCamera(id);
      if (real === undefined) throw new PolicyDenied('camera-unknown', `camera ${id}`);
      return real;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('must be a boolean');
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad('must be an integer >= 0');
      return value;
    case 'token':
      if (typeof value !== 'string' || !TOKEN.test(value)) throw bad('must be a short identifier');
      return value;
    case 'host':
      if (typeof value !== 'string' || !HOST.test(value)) throw bad('must be a host name or IP address');
      return value;
    case 'text':
      if (typeof value !== 'string' || value.length > MAX_TEXT) throw bad(`must be a string of at most ${MAX_TEXT}`);
      return value;
    case 'sdp':
      if (typeof value !== 'string' || value.length > MAX_SDP) throw bad(`must be an SDP of at most ${MAX_SDP}`);
      checkSdpAddresses(value, ctx.media, name);
      // Audio from the browser toward the media backend exists only to talk (policy-talk.ts).
      if (ctx.talkCameras.size === 0 && sdpSendsAudio(value)) {
        throw new PolicyDenied('talk-not-granted', `${name}: an audio section that sends needs the talk grant`);
      }
      return value;
    case 'turn-url':
      checkTurnUrl(value, ctx.media);
      return value;
    case 'stun-host':
      checkStunAddress(value, ctx.media);
      return value;
    case 'stun-port':
      checkStunPort(value, ctx.media);
      return value;
    case 'ice-candidate':
      checkParam('scalar-object', name, value, ctx, rules);
      checkIceCandidate(value as JsonObject, ctx.media);
      return value;
    case 'scalar-object': {
      if (!isObject(value)) throw bad('must be an object');
      const keys = Object.keys(value);
      if (keys.length > MAX_SCALAR_OBJECT_KEYS) throw bad('too many members');
      for (const k of keys) {
        const v = value[k];
        if (v !== null && typeof v === 'object') throw bad(`member ${safeDetail(k)} must be a scalar`);
        if (typeof v === 'string' && v.length > MAX_TEXT) throw bad(`member ${safeDetail(k)} too long`);
      }
      return value;
    }
  }
}

/** Checks a params object against a name → kind table; returns the (possibly rewritten) copy. */
export function checkParamTable(
  table: Readonly<Record<string, ParamKind>>,
  params: JsonObject,
  where: string,
  ctx: ParamContext,
  rules: KurentoRules,
): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(params)) {
    if (!Object.hasOwn(table, key)) throw new PolicyDenied('param-not-allowed', `${where}: ${safeDetail(key)}`);
    out[key] = checkParam(table[key]!, key, params[key]!, ctx, rules);
  }
  return out;
}

/** Parses `newref:N`; undefined when `ref` is not a new-reference. */
export function newrefIndex(ref: string): number | undefined {
  if (!ref.startsWith(NEWREF_PREFIX)) return undefined;
  const n = ref.slice(NEWREF_PREFIX.length);
  return /^(0|[1-9][0-9]{0,5})$/.test(n) ? Number(n) : -1;
}
