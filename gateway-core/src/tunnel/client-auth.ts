import type { Challenge } from './handshake.js';
import {
  authMessage,
  clientProof,
  decodeB64,
  deriveKeys,
  equalConstantTime,
  saltedPassword,
  SCRAM_KEY_BYTES,
  serverSignature,
} from './scram.js';

/** SaltedPassword values kept: one per (salt, N, r, p); a hub has one, a few cover a hub being re-keyed. */
const CACHE_ENTRIES = 4;

/** What the gateway sends in PROOF and what it expects back in WELCOME. */
export interface ClientExchange {
  clientProof: string;
  /** Compares the hub's ServerSignature (base64) with the expected one in constant time. */
  checkServerSignature(signatureB64: string): boolean;
}

/**
 * The gateway's half of SCRAM (RFC 5802 §3). Holds the secret and caches
 * SaltedPassword per (salt, N, r, p) in memory, so a reconnect costs two
 * HMACs instead of an scrypt run (docs/tunnel.md "Handshake"). The cost
 * parameters were bounded by parseChallenge before they reach here.
 */
export class ScramClient {
  readonly #secret: string;
  readonly #cache = new Map<string, Promise<Buffer>>();
  /** scrypt runs so far (diagnostics and tests: reconnects must not add any). */
  derivations = 0;

  constructor(secret: string) {
    this.#secret = secret;
  }

  async answer(v: number, gatewayId: string, clientNonce: string, c: Challenge): Promise<ClientExchange> {
    const salted = await this.#salted(c);
    const message = authMessage({ v, gatewayId, clientNonce, ...c });
    const expected = serverSignature(deriveKeys(salted).serverKey, message);
    return {
      clientProof: clientProof(salted, message).toString('base64'),
      checkServerSignature(signatureB64: string): boolean {
        const got = decodeB64(signatureB64, SCRAM_KEY_BYTES, SCRAM_KEY_BYTES);
        return got !== undefined && equalConstantTime(got, expected);
      },
    };
  }

  #salted(c: Challenge): Promise<Buffer> {
    const key = `${c.salt.toString('base64')}$${c.N}$${c.r}$${c.p}`;
    let p = this.#cache.get(key);
    if (p) {
      // Refresh recency: Map iteration order is insertion order, so the first key is the oldest.
      this.#cache.delete(key);
      this.#cache.set(key, p);
      return p;
    }
    this.derivations++;
    p = saltedPassword(this.#secret, c.salt, c);
    // A failed derivation is not cached: the next attempt tries again.
    p.catch(() => this.#cache.delete(key));
    this.#cache.set(key, p);
    while (this.#cache.size > CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string);
    return p;
  }
}
