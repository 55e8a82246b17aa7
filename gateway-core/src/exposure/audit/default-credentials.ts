import { createHash, randomBytes } from 'node:crypto';
import { adviceFor } from '../../alerts/index.js';
import { CamgateError } from '../../util/index.js';
import type { Evidence, FlagObservation } from '../evidence.js';
import { ProbeConnection } from '../probes/connection.js';
import { challengeScheme, parseHead, responseComplete } from '../probes/message.js';
import { sleep, type AuditCamera } from './types.js';

/**
 * Factory pairs that botnets try first (Mirai's source list and vendor
 * manuals). Public knowledge, yet evidence names only the pair's index
 * (`#1`), so no flag, log or MQTT payload carries a password.
 */
export const DEFAULT_CREDENTIALS: readonly { readonly user: string; readonly pass: string }[] = Object.freeze([
  { user: 'admin', pass: 'admin' }, // #1 many brands
  { user: 'admin', pass: '12345' }, // #2 Hikvision before 2016
  { user: 'admin', pass: '' }, // #3 Dahua, XMeye
  { user: 'root', pass: 'xmhdipc' }, // #4 Xiongmai
  { user: 'admin', pass: '123456' }, // #5 generic
  { user: 'root', pass: 'vizxv' }, // #6 Dahua
  { user: 'admin', pass: '888888' }, // #7 Dahua
  { user: 'admin', pass: '1234' }, // #8 generic
  { user: 'root', pass: 'pass' }, // #9 Axis (old)
  { user: 'admin', pass: 'password' }, // #10 generic
]);

export interface DefaultCredentialOptions {
  /** Pairs to try, in order (default DEFAULT_CREDENTIALS). */
  credentials?: readonly { user: string; pass: string }[];
  /** Pause between two attempts on one camera, in ms (rate limit). */
  attemptIntervalMs?: number;
  /** Connect/answer deadline per attempt, in ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_DEFAULT_CREDENTIAL_OPTIONS = {
  attemptIntervalMs: 1_000, // 1 s: gentle on cameras that lock out after bursts
  timeoutMs: 5_000, // 5 s
} as const;

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** `Authorization` for a challenge: Basic (RFC 7617) or Digest (RFC 7616, MD5 or SHA-256, qop=auth or none). */
export function authorization(
  challenge: string,
  method: string,
  uri: string,
  user: string,
  pass: string,
): string | undefined {
  const scheme = challengeScheme(challenge)?.toLowerCase();
  if (scheme === 'basic') return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  if (scheme !== 'digest') return undefined;
  const p: Record<string, string> = Object.fromEntries(
    [...challenge.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1]?.toLowerCase(), m[2] ?? m[3] ?? '']),
  );
  const algo = (p.algorithm ?? 'MD5').toUpperCase();
  const h = algo === 'SHA-256' ? sha256 : algo === 'MD5' ? md5 : undefined;
  if (!h || p.nonce === undefined) return undefined;
  const realm = p.realm ?? '';
  const ha1 = h(`${user}:${realm}:${pass}`);
  const ha2 = h(`${method}:${uri}`);
  const q = (p.qop ?? '').split(',').map((s) => s.trim());
  const fields = [`username="${user}"`, `realm="${realm}"`, `nonce="${p.nonce}"`, `uri="${uri}"`];
  if (q.includes('auth')) {
    const cnonce = randomBytes(8).toString('hex');
    const nc = '00000001';
    fields.push(
      `qop=auth`,
      `nc=${nc}`,
      `cnonce="${cnonce}"`,
      `response="${h(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`,
    );
  } else {
    fields.push(`response="${h(`${ha1}:${p.nonce}:${ha2}`)}"`);
  }
  if (p.opaque !== undefined) fields.push(`opaque="${p.opaque}"`);
  if (p.algorithm) fields.push(`algorithm=${p.algorithm}`);
  return `Digest ${fields.join(', ')}`;
}

type Proto = 'RTSP' | 'HTTP';

/** One request/answer on a fresh connection; returns status and WWW-Authenticate. */
async function ask(
  proto: Proto,
  host: string,
  port: number,
  path: string,
  auth: string | undefined,
  o: { timeoutMs: number; signal?: AbortSignal },
): Promise<{ status: number; challenge?: string } | undefined> {
  let conn: ProbeConnection;
  try {
    conn = await ProbeConnection.open({ host, port, timeoutMs: o.timeoutMs, signal: o.signal });
  } catch (err) {
    if (err instanceof CamgateError && err.code === 'CAMGATE_PROBE_ABORTED') throw err;
    return undefined;
  }
  try {
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const line =
      proto === 'RTSP'
        ? `DESCRIBE rtsp://${authority}${path} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n`
        : `GET ${path} HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n`;
    conn.write(`${line}User-Agent: camgate-audit\r\n${auth ? `Authorization: ${auth}\r\n` : ''}\r\n`);
    const res = await conn.read(responseComplete(proto, 0), {
      timeoutMs: o.timeoutMs,
      maxBytes: 16 * 1024,
      signal: o.signal,
    });
    const head = parseHead(res.data, proto);
    if (!head) return undefined;
    const challenge = head.headers.get('www-authenticate');
    return { status: head.status, ...(challenge ? { challenge } : {}) };
  } finally {
    conn.close();
  }
}

/**
 * Tries the default pairs against one service of one registered camera.
 * Opt-in, rate-limited, stops at the first pair that works; RTSP Digest/Basic
 * and HTTP Basic only — never telnet. Resolves the index (1-based) of the
 * pair that worked and the auth scheme, or undefined.
 */
export async function tryDefaults(
  proto: Proto,
  host: string,
  port: number,
  path: string,
  opts: DefaultCredentialOptions = {},
): Promise<{ index: number; scheme: string } | undefined> {
  const o: { attemptIntervalMs: number; timeoutMs: number; signal?: AbortSignal } = {
    ...DEFAULT_DEFAULT_CREDENTIAL_OPTIONS,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  };
  if (!Number.isInteger(o.attemptIntervalMs) || o.attemptIntervalMs < 0)
    throw new RangeError(`attemptIntervalMs must be a non-negative integer, got ${String(o.attemptIntervalMs)}`);
  const list = opts.credentials ?? DEFAULT_CREDENTIALS;
  const method = proto === 'RTSP' ? 'DESCRIBE' : 'GET';
  const uri = proto === 'RTSP' ? `rtsp://${host.includes(':') ? `[${host}]` : host}:${port}${path}` : path;
  let first = await ask(proto, host, port, path, undefined, o);
  if (!first || first.status !== 401 || !first.challenge) return undefined; // open, absent or not password-protected
  const scheme = challengeScheme(first.challenge) ?? '';
  // The brief for HTTP is Basic only: Digest over HTTP stays out of scope.
  if (proto === 'HTTP' && scheme.toLowerCase() !== 'basic') return undefined;
  for (const [i, pair] of list.entries()) {
    if (i > 0) await sleep(o.attemptIntervalMs, o.signal);
    const auth = authorization(first.challenge ?? '', method, uri, pair.user, pair.pass);
    if (!auth) return undefined;
    const res = await ask(proto, host, port, path, auth, o);
    if (!res) return undefined;
    if (res.status >= 200 && res.status < 400) return { index: i + 1, scheme };
    if (res.status !== 401) return undefined; // 403 lock-out or anything odd: stop trying
    if (res.challenge) first = res; // a fresh nonce for the next attempt
  }
  return undefined;
}

/** Runs the default-credentials check over the cameras' RTSP and HTTP services. */
export async function auditDefaultCredentials(
  gatewayId: string,
  cameras: readonly AuditCamera[],
  opts: DefaultCredentialOptions = {},
): Promise<FlagObservation[]> {
  const out: FlagObservation[] = [];
  for (const c of cameras) {
    const services: [Proto, { port: number; path?: string } | undefined][] = [
      ['RTSP', c.rtsp],
      ['HTTP', c.http],
    ];
    for (const [proto, svc] of services) {
      if (!svc) continue;
      const hit = await tryDefaults(proto, c.host, svc.port, svc.path ?? '/', opts);
      if (!hit) continue;
      const evidence: Evidence = {
        host: c.host,
        port: svc.port,
        protocol: proto.toLowerCase(),
        detail: `${proto} ${hit.scheme} accepted factory-default pair #${hit.index} of camgate's list (docs/exposure.md)`,
        at: new Date().toISOString(),
      };
      out.push({
        kind: 'default-credentials',
        gatewayId,
        cameraId: c.id,
        key: `${proto.toLowerCase()}-${svc.port}`,
        evidence: [evidence],
        advice: adviceFor('default-credentials', { port: svc.port, ...(c.name ? { cameraName: c.name } : {}) }),
        source: 'gateway',
      });
    }
  }
  return out;
}
