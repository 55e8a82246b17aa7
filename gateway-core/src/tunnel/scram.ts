import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { CamgateError } from '../util/index.js';

/**
 * SCRAM (RFC 5802 §3) with scrypt (RFC 7914) as the key-derivation function
 * and SHA-256 as the hash (RFC 7677): the hub stores only a verifier, the
 * gateway proves it knows the secret without sending it, and the hub proves
 * it holds this gateway's verifier (ServerSignature). docs/tunnel.md
 * "Handshake" describes the exchange and the AuthMessage.
 */

/** scrypt cost parameters (RFC 7914 §2: N = CPU/memory cost, r = block size, p = parallelism). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Cost of new verifiers: 2^14 × 8 is ~16 MiB and tens of ms, paid once per gateway start (cached after). */
export const DEFAULT_SCRAM_PARAMS: Readonly<ScryptParams> = { N: 16_384, r: 8, p: 1 };

/**
 * What either end accepts, from config and from the wire: a hostile hub must
 * not be able to make the gateway allocate gigabytes or burn minutes of CPU.
 * Memory is 128·N·r bytes (RFC 7914 §6), so N·r ≤ 2^21 caps it at 256 MiB;
 * N·r·p ≤ 2^22 caps the work at about twice the memory bound.
 */
export const SCRAM_BOUNDS = {
  minN: 1024, // 2^10
  maxN: 1 << 20, // 2^20
  maxR: 32,
  maxP: 16,
  maxNr: 1 << 21, // 128·N·r ≤ 256 MiB
  maxNrp: 1 << 22,
  minSaltBytes: 8,
  maxSaltBytes: 64,
} as const;

/** Bytes of SaltedPassword, ClientKey, StoredKey, ServerKey: the SHA-256 output size (RFC 7677 §3). */
export const SCRAM_KEY_BYTES = 32;
const SALT_BYTES = 16;
const NONCE_BYTES = 18; // 24 base64url characters, 144 bits
const PREFIX = 'scram-scrypt';
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const B64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

/** A parsed verifier: what the hub knows about a gateway. */
export interface ScramVerifier extends ScryptParams {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Returns why `params` are not acceptable, or undefined when they are. */
export function scryptParamsProblem(params: { N: unknown; r: unknown; p: unknown }): string | undefined {
  const { N, r, p } = params;
  const b = SCRAM_BOUNDS;
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
  if (!int(N) || N < b.minN || N > b.maxN || (N & (N - 1)) !== 0) {
    return `N must be a power of two between ${b.minN} and ${b.maxN}, got ${String(N)}`;
  }
  if (!int(r) || r < 1 || r > b.maxR) return `r must be an integer between 1 and ${b.maxR}, got ${String(r)}`;
  if (!int(p) || p < 1 || p > b.maxP) return `p must be an integer between 1 and ${b.maxP}, got ${String(p)}`;
  if (N * r > b.maxNr) return `N·r must be at most ${b.maxNr} (256 MiB of memory), got ${N * r}`;
  if (N * r * p > b.maxNrp) return `N·r·p must be at most ${b.maxNrp}, got ${N * r * p}`;
  return undefined;
}

/** Decodes strict standard base64 of a bounded length, or undefined. */
export function decodeB64(s: unknown, minBytes: number, maxBytes: number): Buffer | undefined {
  if (typeof s !== 'string' || s.length > 4 * Math.ceil(maxBytes / 3) || !B64_PATTERN.test(s)) return undefined;
  const buf = Buffer.from(s, 'base64');
  // Round-trip check: Node's decoder skips junk silently, we do not accept it.
  if (buf.toString('base64') !== s || buf.length < minBytes || buf.length > maxBytes) return undefined;
  return buf;
}

/** SaltedPassword := scrypt(secret, salt, N, r, p) — RFC 5802 §3 with scrypt in place of Hi(). */
export function saltedPassword(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const problem = scryptParamsProblem(params);
  if (problem) return Promise.reject(new CamgateError('CAMGATE_TUNNEL_AUTH', `scrypt parameters refused: ${problem}`));
  const { N, r, p } = params;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, SCRAM_KEY_BYTES, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** ClientKey, StoredKey and ServerKey from SaltedPassword (RFC 5802 §3). */
export function deriveKeys(salted: Buffer): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

/** Makes the verifier the hub stores for a gateway secret: `scram-scrypt$N$r$p$salt$storedKey$serverKey` (base64). */
export async function makeVerifier(secret: string, params: ScryptParams = DEFAULT_SCRAM_PARAMS): Promise<string> {
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > 1024) {
    throw new TypeError('makeVerifier: secret must be a string of 1-1024 characters');
  }
  const problem = scryptParamsProblem(params);
  if (problem) throw new RangeError(`makeVerifier: params: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const { storedKey, serverKey } = deriveKeys(await saltedPassword(secret, salt, params));
  const b64 = (b: Buffer): string => b.toString('base64');
  return [PREFIX, params.N, params.r, params.p, b64(salt), b64(storedKey), b64(serverKey)].join('$');
}

/**
 * Parses a stored verifier. Throws CamgateError CAMGATE_CONFIG_INVALID naming
 * the bad part (never echoing key material) — config loading and the hub
 * both use it, so a corrupt record is caught at load time.
 */
export function parseVerifier(s: unknown): ScramVerifier {
  const fail = (what: string): CamgateError =>
    new CamgateError('CAMGATE_CONFIG_INVALID', `not a scram-scrypt verifier: ${what}`);
  if (typeof s !== 'string' || s.length > 512) throw fail('must be a string of at most 512 characters');
  const parts = s.split('$');
  if (parts.length !== 7 || parts[0] !== PREFIX) throw fail(`expected ${PREFIX}$N$r$p$salt$storedKey$serverKey`);
  const num = (x: string | undefined): number => (/^[1-9][0-9]{0,9}$/.test(x ?? '') ? Number(x) : NaN);
  const params = { N: num(parts[1]), r: num(parts[2]), p: num(parts[3]) };
  const problem = scryptParamsProblem(params);
  if (problem) throw fail(problem);
  const salt = decodeB64(parts[4], SCRAM_BOUNDS.minSaltBytes, SCRAM_BOUNDS.maxSaltBytes);
  if (!salt) throw fail(`salt must be base64 of ${SCRAM_BOUNDS.minSaltBytes}-${SCRAM_BOUNDS.maxSaltBytes} bytes`);
  const storedKey = decodeB64(parts[5], SCRAM_KEY_BYTES, SCRAM_KEY_BYTES);
  if (!storedKey) throw fail(`storedKey must be base64 of ${SCRAM_KEY_BYTES} bytes`);
  const serverKey = decodeB64(parts[6], SCRAM_KEY_BYTES, SCRAM_KEY_BYTES);
  if (!serverKey) throw fail(`serverKey must be base64 of ${SCRAM_KEY_BYTES} bytes`);
  return { ...params, salt, storedKey, serverKey };
}

/** A fresh nonce: 18 random bytes, base64url. */
export function makeNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

export function isNonce(v: unknown): v is string {
  return typeof v === 'string' && NONCE_PATTERN.test(v);
}

/** Everything AuthMessage binds. */
export interface AuthMessageParts extends ScryptParams {
  v: number;
  gatewayId: string;
  clientNonce: string;
  serverNonce: string;
  salt: Buffer;
}

/**
 * AuthMessage (RFC 5802 §3 binds client-first, server-first and client-final
 * the same way): protocol version, gateway id, both nonces, salt and cost.
 * Every field is from a comma-free alphabet, so the string is unambiguous.
 */
export function authMessage(m: AuthMessageParts): string {
  return (
    `camgate-tunnel,v=${m.v},n=${m.gatewayId},c=${m.clientNonce},s=${m.serverNonce},` +
    `salt=${m.salt.toString('base64')},N=${m.N},r=${m.r},p=${m.p}`
  );
}

/** ClientProof := ClientKey XOR HMAC(StoredKey, AuthMessage). */
export function clientProof(salted: Buffer, message: string): Buffer {
  const { clientKey, storedKey } = deriveKeys(salted);
  return xor(clientKey, hmac(storedKey, message));
}

/** ServerSignature := HMAC(ServerKey, AuthMessage). */
export function serverSignature(serverKey: Buffer, message: string): Buffer {
  return hmac(serverKey, message);
}

/**
 * The hub's check (RFC 5802 §3): recover ClientKey = ClientProof XOR
 * HMAC(StoredKey, AuthMessage) and compare SHA-256(ClientKey) with StoredKey
 * in constant time.
 */
export function verifyClientProof(storedKey: Buffer, message: string, proof: Buffer): boolean {
  if (proof.length !== SCRAM_KEY_BYTES || storedKey.length !== SCRAM_KEY_BYTES) return false;
  const recovered = xor(proof, hmac(storedKey, message));
  return timingSafeEqual(sha256(recovered), storedKey);
}

/** Constant-time equality of two buffers (false when lengths differ). */
export function equalConstantTime(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
