/**
 * API tokens: `cgt_<id>.<secret>`. The hub stores `<id>:scrypt$…` (the
 * secret's scrypt hash keyed by the id), finds the one hash by the id, and
 * runs at most one scrypt per request — before, every request with a random
 * token cost one scrypt per configured token (an attack run measured 200
 * requests, 8.8 CPU-seconds). An unknown id costs no scrypt at all: ids are
 * not secret (they are printed and logged), the secret part is.
 *
 * Hashes from before ids (a bare `scrypt$…`) are refused at start with a
 * message saying how to replace them: keeping them would keep the cost of
 * trying every one of them on every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashSecret, verifySecret } from '../tunnel/index.js';
import { CamgateError } from '../util/index.js';

/** `cgt_` + 16-character id + `.` + 43-character secret (both base64url: 12 and 32 random bytes). */
export const API_TOKEN_PATTERN = /^cgt_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;
/** A stored token: `<id>:scrypt$N$r$p$salt$hash`. */
export const STORED_API_TOKEN_PATTERN = /^([A-Za-z0-9_-]{16}):(scrypt\$.+)$/;
/** How many verified tokens are remembered, so a client does not pay scrypt on every request. */
const VERIFIED_CACHE_MAX = 64;

/** A new token and what the hub stores for it (`camgate hub add-token`). */
export async function mintApiToken(): Promise<{ id: string; token: string; stored: string }> {
  const id = randomBytes(12).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `cgt_${id}.${secret}`, stored: `${id}:${await hashSecret(secret)}` };
}

/** Why a stored entry is refused, or undefined when it is fine (the config schema and the hub share it). */
export function storedApiTokenProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'string') return 'must be a string written by `camgate hub add-token`';
  if (STORED_API_TOKEN_PATTERN.test(entry)) return undefined;
  if (entry.startsWith('scrypt$')) {
    return (
      'a token hash without an id, from an older camgate; every request would cost one scrypt per such ' +
      'hash, so it is no longer accepted: mint a new token with `camgate hub add-token` and delete this entry'
    );
  }
  return 'must be ID:scrypt$… as written by `camgate hub add-token`';
}

export type TokenCheck = 'ok' | 'malformed' | 'unknown-id' | 'wrong-secret';

export class ApiTokenVerifier {
  readonly #hashes = new Map<string, string>();
  /** id → SHA-256 of the whole token, for tokens verified recently. */
  readonly #verified = new Map<string, Buffer>();
  #kdfRuns = 0;

  /** Throws CAMGATE_CONFIG naming the entry (`apiTokens[2]: …`) for a bad or id-less entry. */
  constructor(stored: readonly string[]) {
    stored.forEach((entry, i) => {
      const problem = storedApiTokenProblem(entry);
      if (problem) throw new CamgateError('CAMGATE_CONFIG', `apiTokens[${i}]: ${problem}`);
      const m = STORED_API_TOKEN_PATTERN.exec(entry)!;
      if (this.#hashes.has(m[1]!)) throw new CamgateError('CAMGATE_CONFIG', `apiTokens[${i}]: duplicate id ${m[1]}`);
      this.#hashes.set(m[1]!, m[2]!);
    });
  }

  /** How many scrypt verifications ran (tests count them: at most one per request). */
  get kdfRuns(): number {
    return this.#kdfRuns;
  }

  /** Whether the token's id is not known or cached, so checking it will cost a scrypt. */
  needsKdf(token: string): boolean {
    const m = API_TOKEN_PATTERN.exec(token);
    return m !== null && this.#hashes.has(m[1]!) && !this.#cached(m[1]!, token);
  }

  /** Checks a bearer token: at most one scrypt, none for a malformed token or an unknown id. */
  async check(token: string): Promise<TokenCheck> {
    const m = API_TOKEN_PATTERN.exec(token);
    if (!m) return 'malformed';
    const [, id, secret] = m as unknown as [string, string, string];
    const hash = this.#hashes.get(id);
    if (hash === undefined) return 'unknown-id';
    if (this.#cached(id, token)) return 'ok';
    this.#kdfRuns++;
    if (!(await verifySecret(secret, hash))) return 'wrong-secret';
    if (this.#verified.size >= VERIFIED_CACHE_MAX) this.#verified.clear();
    this.#verified.set(id, digest(token));
    return 'ok';
  }

  #cached(id: string, token: string): boolean {
    const known = this.#verified.get(id);
    return known !== undefined && timingSafeEqual(known, digest(token));
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
