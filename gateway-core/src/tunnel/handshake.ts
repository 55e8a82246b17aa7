import { CamgateError } from '../util/index.js';
import { GATEWAY_ID_PATTERN } from './auth.js';
import { isObject } from './frame.js';

/** The gateway's first frame (docs/tunnel.md "Handshake"). */
export interface Hello {
  v: number;
  gatewayId: string;
  secret: string;
  announce: unknown;
  /** Present when the gateway holds a session it wants to continue. */
  resume?: { session: string; recv: number };
}

/** The hub's answer to an accepted hello. */
export interface Welcome {
  v: number;
  session: string;
  /** True when the hub continued the session named in hello.resume. */
  resumed: boolean;
  /** How many of the gateway's frames the hub holds (0 for a new session). */
  recv: number;
  maxFrameBytes: number;
  maxChannels: number;
}

const SESSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SECRET_CHARS = 1024;

function bad(what: string): CamgateError {
  return new CamgateError('CAMGATE_TUNNEL_PROTOCOL', `malformed hello: ${what}`);
}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

/**
 * Reads only the version, which every protocol version keeps at the same
 * place (`v` in a JSON object in a HELLO frame), so a hub can name the
 * version it got even when it cannot parse the rest.
 */
export function helloVersion(body: unknown): number {
  if (!isObject(body)) throw bad('not a JSON object');
  if (typeof body.v !== 'number' || !Number.isInteger(body.v) || body.v < 0)
    throw bad('v must be a non-negative integer');
  return body.v;
}

/** Validates a version-1 hello. Throws CAMGATE_TUNNEL_PROTOCOL naming the bad field (never its value). */
export function parseHello(body: unknown): Hello {
  const v = helloVersion(body);
  const o = body as Record<string, unknown>;
  if (typeof o.gatewayId !== 'string' || !GATEWAY_ID_PATTERN.test(o.gatewayId)) {
    throw bad('gatewayId must be 1-128 characters of A-Z a-z 0-9 . _ -');
  }
  if (typeof o.secret !== 'string' || o.secret.length === 0 || o.secret.length > MAX_SECRET_CHARS) {
    throw bad(`secret must be a string of 1-${MAX_SECRET_CHARS} characters`);
  }
  const hello: Hello = { v, gatewayId: o.gatewayId, secret: o.secret, announce: o.announce ?? null };
  if (o.resume !== undefined && o.resume !== null) {
    const r = o.resume;
    if (!isObject(r) || typeof r.session !== 'string' || !SESSION_PATTERN.test(r.session) || !isU32(r.recv)) {
      throw bad('resume must be {session: string, recv: u32}');
    }
    hello.resume = { session: r.session, recv: r.recv };
  }
  return hello;
}

/** Validates a welcome on the gateway side. */
export function parseWelcome(body: unknown): Welcome {
  const fail = (what: string): CamgateError =>
    new CamgateError('CAMGATE_TUNNEL_PROTOCOL', `malformed welcome: ${what}`);
  if (!isObject(body)) throw fail('not a JSON object');
  if (typeof body.session !== 'string' || !SESSION_PATTERN.test(body.session)) throw fail('session');
  if (typeof body.resumed !== 'boolean') throw fail('resumed');
  if (!isU32(body.recv)) throw fail('recv');
  if (!isU32(body.v)) throw fail('v');
  return {
    v: body.v,
    session: body.session,
    resumed: body.resumed,
    recv: body.recv,
    maxFrameBytes: isU32(body.maxFrameBytes) ? body.maxFrameBytes : 0,
    maxChannels: isU32(body.maxChannels) ? body.maxChannels : 0,
  };
}
