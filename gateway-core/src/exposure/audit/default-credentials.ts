import { adviceFor } from '../../alerts/index.js';
import { basicAuthorization, digestAlgorithm, digestAuthorization, parseWwwAuthenticate } from '../../rtsp/index.js';
import { CamgateError } from '../../util/index.js';
import type { Evidence, FlagObservation } from '../evidence.js';
import { ProbeConnection } from '../probes/connection.js';
import { challengeScheme, hostAuthority, parseHead, responseComplete } from '../probes/message.js';
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

/**
 * `Authorization` for a challenge: Basic (RFC 7617) or Digest (RFC 7616, MD5
 * or SHA-256, qop=auth or none), built by the RTSP client's implementation.
 * The first challenge of the header is answered (as a camera sends one); a
 * Digest challenge without a nonce, with a -sess algorithm or offering only
 * qop=auth-int gets undefined.
 */
export function authorization(
  challenge: string,
  method: string,
  uri: string,
  user: string,
  pass: string,
): string | undefined {
  const [c] = parseWwwAuthenticate([challenge]);
  if (!c) return undefined;
  const scheme = c.scheme.toLowerCase();
  if (scheme === 'basic') return basicAuthorization(user, pass);
  if (scheme !== 'digest' || !c.params.has('nonce')) return undefined;
  const algorithm = digestAlgorithm(c);
  if (algorithm !== 'MD5' && algorithm !== 'SHA-256') return undefined;
  return digestAuthorization({ username: user, password: pass, method, uri, challenge: c });
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
    const authority = hostAuthority(host, port);
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
  const uri = proto === 'RTSP' ? `rtsp://${hostAuthority(host, port)}${path}` : path;
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
