import { createHash } from 'node:crypto';
import { z } from 'zod';
import { redactString } from '../util/index.js';

/**
 * The flag model. A flag says, in plain words, that a camera (or the gateway's
 * network) is exposed or at risk, with the evidence that shows it. Flags come
 * from the hub's outside monitor and from the gateway's LAN audit; the store
 * (flag-store.ts) turns repeated observations into raised/cleared transitions.
 */

export const FLAG_KINDS = [
  'exposed',
  'telnet-open',
  'upnp-mapping',
  'default-credentials',
  'direct-connection',
  // The gateway's own connection to the hub was taken over by another client holding its secret (close 4409).
  'secret-in-use',
  // A device on the LAN behaves like a botnet scanner: it touched the LAN canary, or the router's connection
  // table shows it scanning (docs/exposure.md "Compromise behaviour"). Named by camera when the address is one.
  'compromise',
] as const;
export type FlagKind = (typeof FLAG_KINDS)[number];

/** One piece of evidence, as a probe saw it. Strings are sanitised by `sanitizeObservation`. */
export interface Evidence {
  host: string;
  port?: number;
  protocol?: string;
  banner?: string;
  detail?: string;
  /** ISO 8601 time of the observation. */
  at: string;
}

export interface FlagObservation {
  kind: FlagKind;
  gatewayId: string;
  cameraId?: string;
  /** Distinguishes several flags of one kind (e.g. the port number). */
  key?: string;
  evidence: Evidence[];
  advice: string;
  source: 'hub' | 'gateway';
}

export interface Flag extends FlagObservation {
  /** Stable, derived from kind/gateway/camera/key; safe as one MQTT topic level. */
  id: string;
  state: 'raised' | 'cleared';
  firstSeen: string;
  lastSeen: string;
  raisedAt: string;
  clearedAt?: string;
  /** Consecutive scans in scope that did not find this flag while it was raised. */
  cleanScans: number;
}

export interface FlagTransition {
  flag: Flag;
  from: 'clear' | 'raised' | 'cleared';
  to: 'raised' | 'cleared';
  at: string;
}

/** Size limits for everything a flag carries (evidence can hold banners from hostile hosts). */
export const FLAG_LIMITS = {
  idLength: 128, // characters, gateway/camera ids and keys
  hostLength: 255, // characters, RFC 1035 §2.3.4 name limit
  protocolLength: 32, // characters
  bannerLength: 512, // characters after escaping
  detailLength: 1024, // characters after escaping
  adviceLength: 2048, // characters
  evidenceItems: 16, // per flag; the most recent are kept
} as const;

/**
 * Escapes C0/C1 control characters (and DEL) so a banner cannot inject
 * terminal escapes or fake log lines, removes URL credentials, then cuts the
 * string to `max` characters with a marker.
 */
export function sanitizeText(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  let out = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  // Evidence comes from probes, never from the camera registry, but a banner
  // or a UPnP description may still echo a URL with userinfo: strip it.
  out = redactString(out);
  if (out.length > max) out = `${out.slice(0, max - 1)}…`;
  return out;
}

const idText = z
  .string()
  .min(1)
  .max(FLAG_LIMITS.idLength)
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');
const isoTime = z.iso.datetime({ offset: true });

const evidenceSchema = z.object({
  host: z.string().min(1).max(4096),
  port: z.number().int().min(0).max(65535).optional(),
  protocol: z.string().max(4096).optional(),
  banner: z.string().max(65536).optional(),
  detail: z.string().max(65536).optional(),
  at: isoTime,
});

export const flagObservationSchema = z.object({
  kind: z.enum(FLAG_KINDS),
  gatewayId: idText,
  cameraId: idText.optional(),
  key: idText.optional(),
  evidence: z.array(evidenceSchema).max(256),
  advice: z.string().max(65536),
  source: z.enum(['hub', 'gateway']),
});

export const flagSchema = flagObservationSchema.extend({
  id: z.string().min(1).max(256),
  state: z.enum(['raised', 'cleared']),
  firstSeen: isoTime,
  lastSeen: isoTime,
  raisedAt: isoTime,
  clearedAt: isoTime.optional(),
  cleanScans: z.number().int().min(0).max(1_000_000),
});

/** Lower-case slug for the readable part of a flag id: `[a-z0-9-]`, at most `max` characters. */
function slug(s: string, max: number): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, max) || 'x'
  );
}

/**
 * The stable id of a flag: `kind.camera.key.hash`. The readable part helps a
 * person scanning MQTT topics; the hash (over the exact values) keeps ids of
 * different cameras distinct after slugging. Only `[a-z0-9._-]` is used, so
 * the id is a safe MQTT topic level (MQTT 3.1.1 §4.7.1: no `+`, `#`, `/`) and
 * a safe Home Assistant object id.
 */
export function flagId(kind: FlagKind, gatewayId: string, cameraId?: string, key?: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([kind, gatewayId, cameraId ?? null, key ?? null]))
    .digest('hex')
    .slice(0, 12);
  const parts = [kind, cameraId === undefined ? 'gateway' : slug(cameraId, 32)];
  if (key !== undefined) parts.push(slug(key, 24));
  parts.push(hash);
  return parts.join('.');
}

function sanitizeEvidence(e: Evidence): Evidence {
  const out: Evidence = { host: sanitizeText(e.host, FLAG_LIMITS.hostLength), at: e.at };
  if (e.port !== undefined) out.port = e.port;
  if (e.protocol !== undefined) out.protocol = sanitizeText(e.protocol, FLAG_LIMITS.protocolLength);
  if (e.banner !== undefined) out.banner = sanitizeText(e.banner, FLAG_LIMITS.bannerLength);
  if (e.detail !== undefined) out.detail = sanitizeText(e.detail, FLAG_LIMITS.detailLength);
  return out;
}

/** A readable one-line summary of a zod error: `evidence[0].port: Too big…`. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => {
      const path = i.path
        .map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n === 0 ? '' : '.'}${String(p)}`))
        .join('');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

/**
 * Validates an observation (it may have crossed the tunnel) and returns a
 * sanitised copy: control characters escaped, URL credentials removed,
 * strings and evidence lists cut to FLAG_LIMITS. Throws `TypeError` naming
 * the bad field.
 */
export function sanitizeObservation(obs: unknown): FlagObservation {
  const parsed = flagObservationSchema.safeParse(obs);
  if (!parsed.success) throw new TypeError(`invalid flag observation: ${describeIssues(parsed.error)}`);
  const o = parsed.data;
  const out: FlagObservation = {
    kind: o.kind,
    gatewayId: o.gatewayId,
    evidence: o.evidence.slice(-FLAG_LIMITS.evidenceItems).map(sanitizeEvidence),
    advice: sanitizeText(o.advice, FLAG_LIMITS.adviceLength),
    source: o.source,
  };
  if (o.cameraId !== undefined) out.cameraId = o.cameraId;
  if (o.key !== undefined) out.key = o.key;
  return out;
}

/**
 * Validates a complete flag (adopted from the hub or read back from disk),
 * sanitises it like an observation and checks that its id is the one its
 * kind/gateway/camera/key derive, so a peer cannot overwrite another flag.
 */
export function sanitizeFlag(flag: unknown): Flag {
  const parsed = flagSchema.safeParse(flag);
  if (!parsed.success) throw new TypeError(`invalid flag: ${describeIssues(parsed.error)}`);
  const f = parsed.data;
  const obs = sanitizeObservation(f);
  const expected = flagId(obs.kind, obs.gatewayId, obs.cameraId, obs.key);
  if (f.id !== expected)
    throw new TypeError(`invalid flag: id ${JSON.stringify(f.id)} does not match its kind/gateway/camera/key`);
  const out: Flag = {
    ...obs,
    id: f.id,
    state: f.state,
    firstSeen: f.firstSeen,
    lastSeen: f.lastSeen,
    raisedAt: f.raisedAt,
    cleanScans: f.cleanScans,
  };
  if (f.clearedAt !== undefined) out.clearedAt = f.clearedAt;
  return out;
}
