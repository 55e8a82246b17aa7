import dgram from 'node:dgram';
import net from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { adviceFor } from '../../alerts/index.js';
import { CamgateError } from '../../util/index.js';
import type { FlagObservation } from '../evidence.js';
import { cleanText } from '../printable.js';
import { boundedRequest } from './http-client.js';
import type { AuditCamera } from './types.js';

export interface UpnpOptions {
  /** Where M-SEARCH goes: the SSDP multicast group, or a unicast address (tests). */
  ssdpAddress?: string;
  /** SSDP port. */
  ssdpPort?: number;
  /** How long to wait for an IGD to answer, in ms. */
  discoverTimeoutMs?: number;
  /** Deadline of each HTTP request to the IGD, in ms. */
  httpTimeoutMs?: number;
  /** Most port mappings read (index 0..N-1). */
  maxMappings?: number;
  /** Most bytes of a description or SOAP answer. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export const DEFAULT_UPNP_OPTIONS = {
  ssdpAddress: '239.255.255.250', // UPnP Device Architecture 1.1 §1.1.2
  ssdpPort: 1900,
  discoverTimeoutMs: 3_000, // 3 s: MX is 2, answers come within MX seconds
  httpTimeoutMs: 5_000, // 5 s
  maxMappings: 256, // entries; routers hold far fewer
  maxBytes: 64 * 1024, // 64 KiB
} as const;

export interface PortMapping {
  remoteHost: string;
  externalPort: number;
  protocol: string;
  internalPort: number;
  internalClient: string;
  enabled: boolean;
  description: string;
  leaseDuration: number;
}

export interface IgdService {
  location: string;
  controlUrl: string;
  serviceType: string;
}

/** The WAN connection services that hold port mappings (IGD:1 and IGD:2). */
const WAN_SERVICE = /^urn:schemas-upnp-org:service:(WANIPConnection:[12]|WANPPPConnection:1)$/;
const SEARCH_TARGETS = [
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
];

type Resolved = Required<Omit<UpnpOptions, 'signal'>> & { signal?: AbortSignal };

function resolve(opts: UpnpOptions): Resolved {
  const o = {
    ...DEFAULT_UPNP_OPTIONS,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  } as Resolved;
  if (!net.isIP(o.ssdpAddress))
    throw new TypeError(`ssdpAddress must be an IP address, got ${JSON.stringify(o.ssdpAddress)}`);
  for (const k of ['ssdpPort', 'discoverTimeoutMs', 'httpTimeoutMs', 'maxMappings', 'maxBytes'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 1)
      throw new RangeError(`${k} must be a positive integer, got ${String(o[k])}`);
  return o;
}

/**
 * SSDP discovery (UPnP Device Architecture 1.1 §1.3.2): sends M-SEARCH for
 * an InternetGatewayDevice and resolves the first answer's LOCATION, or
 * undefined when none answers in time. A LOCATION pointing anywhere but the
 * host that answered is ignored, so a LAN device cannot steer our requests.
 */
export function discoverIgd(opts: UpnpOptions = {}): Promise<{ location: URL; from: string } | undefined> {
  const o = resolve(opts);
  return new Promise((done, fail) => {
    const sock = dgram.createSocket(net.isIPv6(o.ssdpAddress) ? 'udp6' : 'udp4');
    let finished = false;
    const finish = (v: { location: URL; from: string } | undefined, err?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      sock.close();
      if (err) fail(err);
      else done(v);
    };
    const onAbort = (): void => finish(undefined, new CamgateError('CAMGATE_AUDIT_ABORTED', 'audit aborted'));
    const timer = setTimeout(() => finish(undefined), o.discoverTimeoutMs);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish(undefined, new CamgateError('CAMGATE_AUDIT_SSDP', `SSDP socket: ${e.message}`)));
    sock.on('message', (msg, rinfo) => {
      if (msg.length > 8192) return; // an SSDP answer is a few hundred bytes
      const text = msg.toString('latin1');
      if (!/^HTTP\/1\.[01] 200/.test(text)) return;
      const loc = /^location:\s*(\S+)\s*$/im.exec(text)?.[1];
      if (!loc) return;
      let url: URL;
      try {
        url = new URL(loc);
      } catch {
        return;
      }
      if (url.protocol !== 'http:' || url.hostname.replace(/^\[|\]$/g, '') !== rinfo.address) return;
      finish({ location: url, from: rinfo.address });
    });
    sock.bind(0, () => {
      if (finished) return;
      const host = net.isIPv6(o.ssdpAddress) ? `[${o.ssdpAddress}]` : o.ssdpAddress;
      for (const st of SEARCH_TARGETS) {
        const m = `M-SEARCH * HTTP/1.1\r\nHOST: ${host}:${o.ssdpPort}\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ${st}\r\n\r\n`;
        sock.send(m, o.ssdpPort, o.ssdpAddress);
      }
    });
  });
}

const xml = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  processEntities: false,
  parseTagValue: false,
});

function parseXml(text: string, what: string): unknown {
  try {
    return xml.parse(text, true);
  } catch (err) {
    throw new CamgateError(
      'CAMGATE_AUDIT_UPNP',
      `${what} is not well-formed XML: ${(err as Error).message.slice(0, 120)}`,
    );
  }
}

/** Every object under `node` (depth-bounded) that has a `serviceType`. */
function findServices(node: unknown, depth = 0, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (depth > 12 || node === null || typeof node !== 'object') return out;
  if (Array.isArray(node)) {
    for (const n of node) findServices(n, depth + 1, out);
    return out;
  }
  const rec = node as Record<string, unknown>;
  if (typeof rec.serviceType === 'string') out.push(rec);
  for (const v of Object.values(rec)) findServices(v, depth + 1, out);
  return out;
}

/** Fetches the device description and finds the WAN connection service's control URL. */
export async function findWanService(location: URL, opts: UpnpOptions = {}): Promise<IgdService | undefined> {
  const o = resolve(opts);
  const res = await boundedRequest({
    url: location,
    timeoutMs: o.httpTimeoutMs,
    maxBytes: o.maxBytes,
    signal: o.signal,
  });
  if (res.status !== 200)
    throw new CamgateError('CAMGATE_AUDIT_UPNP', `device description answered HTTP ${res.status}`);
  const doc = parseXml(res.body, 'device description') as { root?: { URLBase?: unknown } };
  const svc = findServices(doc).find((s) => WAN_SERVICE.test(String(s.serviceType).trim()));
  if (!svc || typeof svc.controlURL !== 'string') return undefined;
  const base = typeof doc.root?.URLBase === 'string' ? doc.root.URLBase : location.href;
  let control: URL;
  try {
    control = new URL(svc.controlURL.trim(), base);
  } catch {
    throw new CamgateError('CAMGATE_AUDIT_UPNP', 'control URL is not a URL');
  }
  // The control point must be the device that answered discovery.
  if (control.protocol !== 'http:' || control.hostname !== location.hostname)
    throw new CamgateError('CAMGATE_AUDIT_UPNP', 'control URL points away from the IGD that answered discovery');
  return { location: location.href, controlUrl: control.href, serviceType: String(svc.serviceType).trim() };
}

/**
 * Reads the port mapping table with GetGenericPortMappingEntry (IGD
 * WANIPConnection:2 §2.5.18), index 0, 1, … until error 713
 * SpecifiedArrayIndexInvalid (the end of the table) or `maxMappings`.
 */
export async function listPortMappings(service: IgdService, opts: UpnpOptions = {}): Promise<PortMapping[]> {
  const o = resolve(opts);
  const out: PortMapping[] = [];
  for (let i = 0; i < o.maxMappings; i++) {
    const body =
      '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
      's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
      `<u:GetGenericPortMappingEntry xmlns:u="${service.serviceType}"><NewPortMappingIndex>${i}</NewPortMappingIndex>` +
      '</u:GetGenericPortMappingEntry></s:Body></s:Envelope>';
    const res = await boundedRequest({
      url: new URL(service.controlUrl),
      method: 'POST',
      headers: {
        'Content-Type': 'text/xml; charset="utf-8"',
        SOAPAction: `"${service.serviceType}#GetGenericPortMappingEntry"`,
      },
      body,
      timeoutMs: o.httpTimeoutMs,
      maxBytes: o.maxBytes,
      signal: o.signal,
    });
    const doc = parseXml(res.body, 'SOAP answer') as Record<string, unknown>;
    const envBody = (doc.Envelope as Record<string, unknown> | undefined)?.Body as Record<string, unknown> | undefined;
    if (res.status !== 200) {
      const code = String(findKey(envBody, 'errorCode') ?? '');
      if (code === '713') break; // SpecifiedArrayIndexInvalid: past the last entry
      throw new CamgateError(
        'CAMGATE_AUDIT_UPNP',
        `GetGenericPortMappingEntry(${i}) failed: HTTP ${res.status} UPnP error ${cleanText(code, 8) || 'none'}`,
      );
    }
    const r = envBody?.GetGenericPortMappingEntryResponse as Record<string, unknown> | undefined;
    if (!r)
      throw new CamgateError('CAMGATE_AUDIT_UPNP', `GetGenericPortMappingEntry(${i}) answer has no response element`);
    const s = (k: string, max = 64): string => cleanText(String(r[k] ?? ''), max);
    out.push({
      remoteHost: s('NewRemoteHost'),
      externalPort: Number(s('NewExternalPort')),
      protocol: s('NewProtocol', 8),
      internalPort: Number(s('NewInternalPort')),
      internalClient: s('NewInternalClient'),
      enabled: s('NewEnabled') === '1' || s('NewEnabled').toLowerCase() === 'true',
      description: s('NewPortMappingDescription', 128),
      leaseDuration: Number(s('NewLeaseDuration')) || 0,
    });
  }
  return out;
}

function findKey(node: unknown, key: string, depth = 0): unknown {
  if (depth > 8 || node === null || typeof node !== 'object') return undefined;
  const rec = node as Record<string, unknown>;
  if (key in rec) return rec[key];
  for (const v of Object.values(rec)) {
    const f = findKey(v, key, depth + 1);
    if (f !== undefined) return f;
  }
  return undefined;
}

export interface UpnpAuditResult {
  /** The IGD's description URL, when one answered. */
  location?: string;
  mappings: PortMapping[];
  observations: FlagObservation[];
}

/**
 * Discovers the router's IGD, reads its mapping table and flags each mapping
 * whose internal client is a camera's LAN address (`upnp-mapping`, with the
 * mapping as evidence). No IGD answering means no mappings: UPnP is off.
 */
export async function auditUpnp(
  gatewayId: string,
  cameras: readonly AuditCamera[],
  opts: UpnpOptions = {},
): Promise<UpnpAuditResult> {
  const found = await discoverIgd(opts);
  if (!found) return { mappings: [], observations: [] };
  const service = await findWanService(found.location, opts);
  if (!service) return { location: found.location.href, mappings: [], observations: [] };
  const mappings = await listPortMappings(service, opts);
  const at = new Date().toISOString();
  const observations: FlagObservation[] = [];
  for (const m of mappings) {
    const camera = cameras.find((c) => c.host.toLowerCase() === m.internalClient.toLowerCase());
    if (!camera) continue;
    observations.push({
      kind: 'upnp-mapping',
      gatewayId,
      cameraId: camera.id,
      key: `${m.protocol.toLowerCase()}-${m.externalPort}`,
      evidence: [
        {
          host: found.from,
          port: m.externalPort,
          protocol: 'upnp',
          detail:
            `${m.protocol} external ${m.remoteHost || '*'}:${m.externalPort} -> ${m.internalClient}:${m.internalPort}` +
            ` enabled=${m.enabled} lease=${m.leaseDuration}s description="${m.description}"`,
          at,
        },
      ],
      advice: adviceFor('upnp-mapping', { port: m.externalPort, ...(camera.name ? { cameraName: camera.name } : {}) }),
      source: 'gateway',
    });
  }
  return { location: found.location.href, mappings, observations };
}
