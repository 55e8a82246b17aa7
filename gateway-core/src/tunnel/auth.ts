import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Gateway secrets: the hub stores only `scrypt$N$r$p$saltB64$hashB64`, a
 * self-describing string so cost parameters can be raised later without
 * invalidating stored hashes (RFC 7914 §2 names N, r, p).
 */
const SCRYPT_N = 16_384; // 2^14: ~16 MiB and tens of ms per check, fine for a handful of gateways
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds accepted when parsing a stored hash, so a bad record cannot make us allocate gigabytes. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function scryptAsync(secret: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a gateway secret for storage. */
export async function hashSecret(secret: string): Promise<string> {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new TypeError('hashSecret: secret must be a non-empty string');
  }
  const salt = randomBytes(SALT_BYTES);
  const opts = { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 256 * SCRYPT_N * SCRYPT_R };
  const key = await scryptAsync(secret, salt, KEY_BYTES, opts);
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parsePositiveInt(s: string | undefined, max: number): number | undefined {
  if (s === undefined || !/^[1-9][0-9]{0,8}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/**
 * Checks `secret` against a stored `hashSecret` string in constant time.
 * A malformed stored string yields false (never throws), so a corrupt record
 * looks exactly like a wrong secret to the connecting side.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  if (typeof secret !== 'string' || typeof stored !== 'string') return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const N = parsePositiveInt(parts[1], MAX_N);
  const r = parsePositiveInt(parts[2], MAX_R);
  const p = parsePositiveInt(parts[3], MAX_P);
  if (N === undefined || r === undefined || p === undefined || (N & (N - 1)) !== 0 || N < 2) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length === 0 || expected.length < 16 || expected.length > 64) return false;
  try {
    const key = await scryptAsync(secret, salt, expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** A new gateway secret: 32 random bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A new gateway id: `gw-` + 16 random bytes in base64url — unguessable, URL- and MQTT-topic-safe. */
export function generateGatewayId(): string {
  return `gw-${randomBytes(16).toString('base64url')}`;
}

/** What a gateway id may look like on the wire (also used to validate hello). */
export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
