import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';
import { parseRetryAfter, type ReconnectDelays } from './backoff.js';
import {
  checkHubUrl,
  describeConnectError,
  normaliseFingerprint,
  tlsClientOptions,
  verifyPin,
  type TunnelTlsOptions,
} from './client-tls.js';
import { checkInt, describe } from './options.js';

/** Where and how a TunnelClient dials: validated once, used for every attempt. */
export interface DialTarget {
  url: string;
  pin: string | undefined;
  tls: TunnelTlsOptions | undefined;
  localAddress: string | undefined;
  handshakeTimeoutMs: number;
  maxPayload: number;
}

export interface DialFailure {
  code: string;
  reason: string;
}

/** Checks the dialling options of a TunnelClient; throws TypeError/RangeError naming the option. */
export function resolveDialTarget(
  owner: string,
  o: {
    url: string;
    allowInsecure?: boolean;
    tls?: TunnelTlsOptions;
    localAddress?: string;
    handshakeTimeoutMs: number;
    maxPayload: number;
  },
): DialTarget {
  if (o.allowInsecure !== undefined && typeof o.allowInsecure !== 'boolean') {
    throw new TypeError(`${owner}: option allowInsecure must be a boolean`);
  }
  const url = checkHubUrl(o.url, o.allowInsecure === true).href;
  if (o.tls !== undefined && (o.tls === null || typeof o.tls !== 'object')) {
    throw new TypeError(`${owner}: option tls must be an object`);
  }
  if (o.tls?.ca !== undefined && typeof o.tls.ca !== 'string' && !Buffer.isBuffer(o.tls.ca)) {
    throw new TypeError(`${owner}: option tls.ca must be a PEM string or Buffer`);
  }
  const pin = o.tls?.fingerprint256 !== undefined ? normaliseFingerprint(o.tls.fingerprint256) : undefined;
  if (o.localAddress !== undefined && (typeof o.localAddress !== 'string' || isIP(o.localAddress) === 0)) {
    throw new TypeError(
      `${owner}: option localAddress must be an IPv4 or IPv6 address, got ${describe(o.localAddress)}`,
    );
  }
  return {
    url,
    pin,
    tls: o.tls,
    localAddress: o.localAddress,
    handshakeTimeoutMs: checkInt(owner, 'handshakeTimeoutMs', o.handshakeTimeoutMs, 10, 600_000),
    maxPayload: o.maxPayload,
  };
}

/**
 * One attempt: connect, TLS (the pin is checked at the upgrade, before hello and so before anything
 * secret-derived is sent), WebSocket upgrade. `open` gets the socket; otherwise `fail` is called once, with
 * the hub's `Retry-After` turned into a jittered delay when it answered 503 or 429 with one.
 */
export function dialHub(
  t: DialTarget,
  delays: ReconnectDelays,
  on: {
    open: (ws: WebSocket) => void;
    fail: (ws: WebSocket | undefined, f: DialFailure, retryAfterMs?: number) => void;
  },
): WebSocket | undefined {
  let failure: DialFailure | undefined;
  let retryAfterMs: number | undefined;
  let ws: WebSocket;
  try {
    ws = new WebSocket(t.url, {
      maxPayload: t.maxPayload,
      handshakeTimeout: t.handshakeTimeoutMs,
      perMessageDeflate: false,
      followRedirects: false,
      ...(t.localAddress !== undefined ? { localAddress: t.localAddress } : {}),
      ...tlsClientOptions(t.tls, t.pin),
    });
  } catch (err) {
    on.fail(undefined, describeConnectError(err));
    return undefined;
  }
  ws.on('upgrade', (res) => {
    if (!t.pin) return;
    try {
      verifyPin(res.socket as TLSSocket, t.pin);
    } catch (err) {
      failure = describeConnectError(err);
      ws.terminate();
    }
  });
  ws.on('error', (err) => {
    failure ??= describeConnectError(err);
  });
  // A busy hub answers the upgrade 503 (or 429) with Retry-After: come back then, not on the backoff.
  ws.on('unexpected-response', (_req, res) => {
    const seconds = parseRetryAfter(res.headers['retry-after']);
    if (seconds !== undefined && (res.statusCode === 503 || res.statusCode === 429)) {
      retryAfterMs = delays.retryAfter(seconds);
    }
    failure ??= {
      code: 'CAMGATE_TUNNEL_CONNECT',
      reason: `the hub answered ${res.statusCode}${seconds !== undefined ? ` (retry after ${seconds} s)` : ''}`,
    };
    res.resume();
    ws.terminate();
  });
  const onEarlyClose = (): void =>
    on.fail(
      ws,
      failure ?? { code: 'CAMGATE_TUNNEL_CONNECT', reason: 'connection closed during handshake' },
      retryAfterMs,
    );
  ws.once('close', onEarlyClose);
  ws.once('open', () => {
    ws.off('close', onEarlyClose);
    on.open(ws);
  });
  return ws;
}
