import { CamgateError } from '../util/index.js';
import { GATEWAY_ID_PATTERN } from './auth.js';
import { isObject } from './frame.js';
import { decodeB64, isNonce, SCRAM_BOUNDS, SCRAM_KEY_BYTES, scryptParamsProblem, type ScryptParams } from './scram.js';

/** The gateway's first frame (docs/tunnel.md "Handshake"): who it claims to be, and its nonce. */
export interface Hello {
  v: number;
  gatewayId: string;
  clientNonce: string;
}

/** The hub's SCRAM challenge (RFC 5802 server-first-message). */
export interface Challenge extends ScryptParams {
  serverNonce: string;
  salt: Buffer;
}

/** The gateway's answer (RFC 5802 client-final-message) plus what the hub needs once it is accepted. */
export interface Proof {
  clientProof: Buffer;
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
  /** HMAC(ServerKey, AuthMessage), base64: the hub's proof that it holds this gateway's verifier. */
  serverSignature: string;
  /**
   * STUN/TURN URIs (RFC 7064, RFC 7065; never credentials) the hub will hand the media backend. The gateway
   * lets the backend use these relays by default (docs/kurento-policy.md "Media targets"). Empty when absent.
   */
  mediaRelays: string[];
}

/** Most relay URIs a welcome may carry, and the longest one: a hub has a handful of TURN servers. */
export const MAX_WELCOME_RELAYS = 16;
const MAX_RELAY_URI = 300;

const SESSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function bad(what: string, frame = 'hello'): CamgateError {
  return new CamgateError('CAMGATE_TUNNEL_PROTOCOL', `malformed ${frame}: ${what}`);
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
  if (!isNonce(o.clientNonce)) throw bad('clientNonce must be 16-64 base64url characters');
  return { v, gatewayId: o.gatewayId, clientNonce: o.clientNonce };
}

/**
 * Validates a challenge on the gateway side. The scrypt cost is bounded here,
 * before anything is computed: a hostile hub must not be able to make the
 * gateway allocate gigabytes (SCRAM_BOUNDS). Throws CAMGATE_TUNNEL_PROTOCOL,
 * or CAMGATE_TUNNEL_AUTH for cost parameters out of bounds.
 */
export function parseChallenge(body: unknown): Challenge {
  if (!isObject(body)) throw bad('not a JSON object', 'challenge');
  if (!isNonce(body.serverNonce)) throw bad('serverNonce must be 16-64 base64url characters', 'challenge');
  const salt = decodeB64(body.salt, SCRAM_BOUNDS.minSaltBytes, SCRAM_BOUNDS.maxSaltBytes);
  if (!salt) {
    throw bad(`salt must be base64 of ${SCRAM_BOUNDS.minSaltBytes}-${SCRAM_BOUNDS.maxSaltBytes} bytes`, 'challenge');
  }
  const problem = scryptParamsProblem({ N: body.N, r: body.r, p: body.p });
  if (problem)
    throw new CamgateError('CAMGATE_TUNNEL_AUTH', `the hub asked for scrypt parameters out of bounds: ${problem}`);
  return { serverNonce: body.serverNonce, salt, N: body.N as number, r: body.r as number, p: body.p as number };
}

/** Validates a proof on the hub side. */
export function parseProof(body: unknown): Proof {
  if (!isObject(body)) throw bad('not a JSON object', 'proof');
  const clientProof = decodeB64(body.clientProof, SCRAM_KEY_BYTES, SCRAM_KEY_BYTES);
  if (!clientProof) throw bad(`clientProof must be base64 of ${SCRAM_KEY_BYTES} bytes`, 'proof');
  const proof: Proof = { clientProof, announce: body.announce ?? null };
  if (body.resume !== undefined && body.resume !== null) {
    const r = body.resume;
    if (!isObject(r) || typeof r.session !== 'string' || !SESSION_PATTERN.test(r.session) || !isU32(r.recv)) {
      throw bad('resume must be {session: string, recv: u32}', 'proof');
    }
    proof.resume = { session: r.session, recv: r.recv };
  }
  return proof;
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
  if (typeof body.serverSignature !== 'string' || body.serverSignature.length > 128) throw fail('serverSignature');
  return {
    serverSignature: body.serverSignature,
    v: body.v,
    session: body.session,
    resumed: body.resumed,
    recv: body.recv,
    maxFrameBytes: isU32(body.maxFrameBytes) ? body.maxFrameBytes : 0,
    maxChannels: isU32(body.maxChannels) ? body.maxChannels : 0,
    mediaRelays: parseRelays(body.mediaRelays, fail),
  };
}

/** `mediaRelays` of a welcome: absent (older hubs) or up to 16 short strings; the gateway parses each itself. */
function parseRelays(v: unknown, fail: (what: string) => CamgateError): string[] {
  if (v === undefined) return [];
  if (
    !Array.isArray(v) ||
    v.length > MAX_WELCOME_RELAYS ||
    !v.every((u) => typeof u === 'string' && u.length > 0 && u.length <= MAX_RELAY_URI)
  ) {
    throw fail(`mediaRelays must be at most ${MAX_WELCOME_RELAYS} strings of 1-${MAX_RELAY_URI} characters`);
  }
  return [...(v as string[])];
}
