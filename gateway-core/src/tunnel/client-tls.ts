import type { TLSSocket } from 'node:tls';
import type { ClientOptions } from 'ws';
import { CamgateError, isLoopbackHost } from '../util/index.js';

/** TLS settings of a TunnelClient. */
export interface TunnelTlsOptions {
  /** Trusted CA certificate(s), PEM; replaces the system CAs. */
  ca?: string | Buffer;
  /**
   * SHA-256 fingerprint of the hub's certificate (`AA:BB:…`, case-insensitive).
   * With a pin the certificate is trusted if and only if it matches —
   * self-signed included — and the host name is not checked.
   */
  fingerprint256?: string;
}

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** Normalises a fingerprint to upper-case colon form; throws TypeError naming the option. */
export function normaliseFingerprint(fp: unknown): string {
  if (typeof fp !== 'string')
    throw new TypeError(`TunnelClient: option tls.fingerprint256 must be a string, got ${typeof fp}`);
  const up = fp.trim().toUpperCase();
  if (!FINGERPRINT.test(up)) {
    throw new TypeError(
      'TunnelClient: option tls.fingerprint256 must be 32 hex byte pairs separated by colons (AA:BB:…)',
    );
  }
  return up;
}

/**
 * Validates the hub URL: ws/wss only, no credentials in it, and ws:// only
 * to loopback unless allowInsecure (ARCHITECTURE "TLS is the default").
 */
export function checkHubUrl(url: unknown, allowInsecure: boolean): URL {
  if (typeof url !== 'string') throw new TypeError(`TunnelClient: option url must be a string, got ${typeof url}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError('TunnelClient: option url is not a valid URL');
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new TypeError(`TunnelClient: option url must use wss:// (or ws:// on loopback), got ${u.protocol}//`);
  }
  if (u.username || u.password) {
    throw new TypeError('TunnelClient: option url must not contain credentials; the secret goes in option secret');
  }
  if (u.protocol === 'ws:' && !allowInsecure && !isLoopbackHost(u.hostname)) {
    throw new CamgateError(
      'CAMGATE_TUNNEL_INSECURE',
      `refusing plain ws:// to non-loopback host ${u.hostname}; use wss:// or set allowInsecure: true`,
    );
  }
  return u;
}

/** ws client options that implement the TLS policy. */
export function tlsClientOptions(tls: TunnelTlsOptions | undefined, pin: string | undefined): ClientOptions {
  if (pin) {
    // Chain validation is replaced by the pin, checked in verifyPin() before anything is sent.
    return { rejectUnauthorized: false };
  }
  return tls?.ca !== undefined ? { ca: tls.ca } : {};
}

/** Checks the peer certificate of an established TLS socket against the pin; throws CAMGATE_TUNNEL_TLS. */
export function verifyPin(socket: TLSSocket, pin: string): void {
  const cert = socket.getPeerCertificate();
  const got = cert && typeof cert.fingerprint256 === 'string' ? cert.fingerprint256.toUpperCase() : '';
  if (got !== pin) throw new CamgateError('CAMGATE_TUNNEL_TLS', 'certificate fingerprint mismatch');
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Maps a connection error to the `state` event's {code, reason}. */
export function describeConnectError(err: unknown): { code: string; reason: string } {
  if (err instanceof CamgateError) return { code: err.code, reason: err.message };
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (
    typeof e?.code === 'string' &&
    (TLS_CODES.has(e.code) || e.code.startsWith('ERR_SSL') || e.code.startsWith('ERR_TLS'))
  ) {
    return { code: 'CAMGATE_TUNNEL_TLS', reason: message };
  }
  return { code: 'CAMGATE_TUNNEL_CONNECT', reason: message };
}
