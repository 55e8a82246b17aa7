/**
 * Attribution of an open port the hub found from outside to one camera of the
 * home, without the hub learning anything of the LAN (docs/exposure.md
 * "Attribution"). The hub sends what answered (port, protocol, Server header
 * or banner, auth realm, HTML title, TLS certificate fingerprint); the gateway
 * probes its own cameras with the same probes, reads the router's UPnP
 * mappings, and answers with camera ids and how each was matched — never an
 * address, never a credential. Both messages cross the tunnel, so both are
 * validated and size-limited on receipt.
 */
import { z } from 'zod';
import type { ProbeEvidence } from './evidence.js';
import { cleanText } from './printable.js';
import { mapLimit } from './probes/connection.js';
import type { PortMapping } from './audit/upnp.js';

/** Control message types (tunnel CONTROL frames, docs/tunnel.md). */
export const ATTRIBUTION_REQUEST = 'exposure-attribute';
export const ATTRIBUTION_REPLY = 'exposure-attribution';

/** Limits on both messages: they come from the other end of the tunnel. */
export const ATTRIBUTION_LIMITS = {
  findings: 64, // open ports per request; the hub scans at most 1024 ports but homes expose few
  textChars: 256, // characters per banner, realm, title
  idChars: 32, // request id
  portsPerCamera: 6, // LAN ports the gateway probes per camera and finding
  concurrency: 4, // gateway probes in flight
} as const;

/** What the hub saw on one open port of the home's public address. */
export interface AttributionFinding {
  port: number;
  protocol: 'rtsp' | 'http' | 'https' | 'telnet' | 'tcp';
  /** RTSP/HTTP `Server` header. */
  server?: string;
  /** Telnet or unparsed banner. */
  banner?: string;
  /** WWW-Authenticate realm (RFC 7235 §2.2). */
  realm?: string;
  /** HTML `<title>`. */
  title?: string;
  /** SHA-256 certificate fingerprint `AA:BB:…` (TLS only). */
  certFingerprint?: string;
}

export interface AttributionRequest {
  type: typeof ATTRIBUTION_REQUEST;
  id: string;
  findings: AttributionFinding[];
}

/** The fields a match can rest on, strongest first. */
export const MATCH_METHODS = ['upnp-mapping', 'tls-certificate', 'realm', 'title', 'server-header', 'banner'] as const;
export type MatchMethod = (typeof MATCH_METHODS)[number];

export interface AttributionMatch {
  port: number;
  cameraId: string;
  /** How: `upnp-mapping`, `tls-certificate`, or the exact fields that agreed joined by `+` (`realm+server-header`). */
  method: string;
}

export interface AttributionReply {
  type: typeof ATTRIBUTION_REPLY;
  id: string;
  matches: AttributionMatch[];
}

const text = z.string().max(ATTRIBUTION_LIMITS.textChars);
const port = z.number().int().min(1).max(65535);
const requestId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
const methodRe = new RegExp(`^(${MATCH_METHODS.join('|')})(\\+(${MATCH_METHODS.join('|')})){0,5}$`);

const findingSchema = z
  .object({
    port,
    protocol: z.enum(['rtsp', 'http', 'https', 'telnet', 'tcp']),
    server: text.optional(),
    banner: text.optional(),
    realm: text.optional(),
    title: text.optional(),
    certFingerprint: z
      .string()
      .regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/)
      .optional(),
  })
  .strict();

const requestSchema = z
  .object({
    type: z.literal(ATTRIBUTION_REQUEST),
    id: requestId,
    findings: z.array(findingSchema).max(ATTRIBUTION_LIMITS.findings),
  })
  .strict();

const replySchema = z
  .object({
    type: z.literal(ATTRIBUTION_REPLY),
    id: requestId,
    matches: z
      .array(
        z
          .object({
            port,
            cameraId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/),
            method: z.string().max(96).regex(methodRe),
          })
          .strict(),
      )
      .max(ATTRIBUTION_LIMITS.findings),
  })
  .strict();

/** Validates an attribution request that came through the tunnel; throws a TypeError naming the field. */
export function parseAttributionRequest(msg: unknown): AttributionRequest {
  const r = requestSchema.safeParse(msg);
  if (!r.success) throw new TypeError(`invalid ${ATTRIBUTION_REQUEST} message: ${issue(r.error)}`);
  return r.data as AttributionRequest;
}

/** Validates an attribution reply that came through the tunnel. */
export function parseAttributionReply(msg: unknown): AttributionReply {
  const r = replySchema.safeParse(msg);
  if (!r.success) throw new TypeError(`invalid ${ATTRIBUTION_REPLY} message: ${issue(r.error)}`);
  return r.data;
}

function issue(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'malformed';
}

const PROTOCOLS = new Set(['rtsp', 'http', 'https', 'telnet', 'tcp']);

/**
 * What a probe saw, reduced to the fields attribution compares. Everything
 * here is already printable (the probes escape it) and is cut to the limits.
 */
export function findingOf(ev: ProbeEvidence): AttributionFinding {
  const protocol = (PROTOCOLS.has(ev.protocol) ? ev.protocol : 'tcp') as AttributionFinding['protocol'];
  const f: AttributionFinding = { port: ev.port, protocol };
  const cut = (s: unknown): string | undefined =>
    typeof s === 'string' && s !== '' ? cleanText(s, ATTRIBUTION_LIMITS.textChars - 32) : undefined; // room for the cut marker
  const headerBanner = protocol === 'rtsp' || protocol === 'http' || protocol === 'https';
  const banner = cut(ev.banner);
  // The probes keep RTSP/HTTP `Server` as the banner; a banner that was not a parsed answer is raw text.
  const parsed = ev.detail !== 'not an RTSP answer' && ev.detail !== 'not an HTTP answer';
  if (banner !== undefined) {
    if (headerBanner && parsed) f.server = banner;
    else f.banner = banner;
  }
  const realm = cut(ev.facts?.realm);
  if (realm !== undefined) f.realm = realm;
  const title = cut(ev.facts?.title);
  if (title !== undefined) f.title = title;
  const fp = ev.facts?.certFingerprint;
  if (typeof fp === 'string' && /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/.test(fp)) f.certFingerprint = fp;
  return f;
}

/**
 * Does a LAN probe of a camera show the same service the hub saw? A TLS
 * certificate fingerprint decides alone (it is the device's own key). Else
 * every comparable field the hub saw must be equal on the LAN, and at least
 * one must be present: the method names the fields that agreed.
 */
export function compareFinding(outside: AttributionFinding, inside: AttributionFinding): string | undefined {
  if (outside.protocol !== inside.protocol) return undefined;
  if (outside.certFingerprint !== undefined) {
    return outside.certFingerprint === inside.certFingerprint ? 'tls-certificate' : undefined;
  }
  const fields: [keyof AttributionFinding, MatchMethod][] = [
    ['realm', 'realm'],
    ['title', 'title'],
    ['server', 'server-header'],
    ['banner', 'banner'],
  ];
  const agreed: MatchMethod[] = [];
  for (const [field, method] of fields) {
    if (outside[field] === undefined) continue;
    if (outside[field] !== inside[field]) return undefined;
    agreed.push(method);
  }
  return agreed.length > 0 ? agreed.join('+') : undefined;
}

/** A camera as attribution sees it on the gateway: its LAN host and the ports it serves. */
export interface AttributionCamera {
  id: string;
  host: string;
  /** Ports the camera serves on the LAN (its RTSP port, its configured service ports). */
  ports: readonly number[];
}

export interface AttributeOptions {
  /** The router's UPnP port mappings (the LAN audit reads them); an external port mapped to a camera decides. */
  mappings?: readonly PortMapping[];
  /** Probes one LAN service with the probe for `protocol` (the same probes the hub uses). */
  probe: (host: string, port: number, protocol: AttributionFinding['protocol']) => Promise<ProbeEvidence>;
}

/** The default LAN port of each protocol (RFC 2326 §3.2 for RTSP; RFC 9110 §4.2 for HTTP(S); RFC 854 telnet). */
const DEFAULT_PORT: Record<AttributionFinding['protocol'], number | undefined> = {
  rtsp: 554,
  http: 80,
  https: 443,
  telnet: 23,
  tcp: undefined,
};

/**
 * Matches each finding to at most one camera: first the UPnP mapping table
 * (external port → internal client that is a camera), then the cameras' own
 * answers on the LAN. Two cameras answering alike (same model, same realm)
 * leave the finding unmatched: a guess would name the wrong camera.
 */
export async function attributeFindings(
  findings: readonly AttributionFinding[],
  cameras: readonly AttributionCamera[],
  opts: AttributeOptions,
): Promise<AttributionMatch[]> {
  const matches: AttributionMatch[] = [];
  const cache = new Map<string, Promise<AttributionFinding | undefined>>();
  const probeOnce = (host: string, p: number, protocol: AttributionFinding['protocol']) => {
    const key = `${host}|${p}|${protocol}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = opts.probe(host, p, protocol).then(
        (ev) => (ev.open ? findingOf(ev) : undefined),
        () => undefined,
      );
      cache.set(key, hit);
    }
    return hit;
  };
  for (const f of findings.slice(0, ATTRIBUTION_LIMITS.findings)) {
    const mapped = (opts.mappings ?? []).filter(
      (m) => m.enabled && m.externalPort === f.port && m.protocol.toUpperCase() === 'TCP',
    );
    const byUpnp = cameras.filter((c) => mapped.some((m) => sameHost(m.internalClient, c.host)));
    if (byUpnp.length === 1) {
      matches.push({ port: f.port, cameraId: byUpnp[0]!.id, method: 'upnp-mapping' });
      continue;
    }
    const hits = await mapLimit(cameras, ATTRIBUTION_LIMITS.concurrency, async (c) => {
      const ports = [f.port, ...c.ports, DEFAULT_PORT[f.protocol]].filter((p): p is number => p !== undefined);
      for (const p of [...new Set(ports)].slice(0, ATTRIBUTION_LIMITS.portsPerCamera)) {
        const inside = await probeOnce(c.host, p, f.protocol);
        const method = inside ? compareFinding(f, inside) : undefined;
        if (method) return method;
      }
      return undefined;
    });
    const matched = cameras.flatMap((c, i) => (hits[i] ? [{ camera: c, method: hits[i] }] : []));
    if (matched.length === 1)
      matches.push({ port: f.port, cameraId: matched[0]!.camera.id, method: matched[0]!.method });
  }
  return matches;
}

function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/^\[|\]$/g, '') === b.toLowerCase().replace(/^\[|\]$/g, '');
}
