import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../util/index.js';
import type { Challenge, Hello, Proof } from './handshake.js';
import {
  authMessage,
  DEFAULT_SCRAM_PARAMS,
  makeNonce,
  parseVerifier,
  serverSignature,
  verifyClientProof,
  type ScramVerifier,
} from './scram.js';

/** Looks up the stored `scram-scrypt$…` verifier of a gateway id; undefined when the id is unknown. */
export type LookupVerifier = (gatewayId: string) => Promise<string | undefined> | string | undefined;

/** One connection's state between CHALLENGE and PROOF. */
export interface PendingAuth {
  hello: Hello;
  challenge: Challenge;
  /** False for an unknown id (or an unreadable record): the proof is checked all the same, then refused. */
  known: boolean;
  verifier: ScramVerifier;
}

/** Bytes of a fake salt: the length makeVerifier uses, so fake and real challenges look alike. */
const FAKE_SALT_BYTES = 16;

/**
 * The hub's half of SCRAM (RFC 5802 §3, RFC 7677). It never sees the secret:
 * it holds StoredKey and ServerKey. An unknown id gets a challenge that looks
 * like a real one — a salt derived deterministically from the id (so asking
 * twice gives the same salt, as for a real gateway) and the default cost —
 * and its proof goes through the same check before the same refusal, so
 * neither the challenge nor the answer tells which ids exist.
 */
export class ScramAuthority {
  readonly #lookup: LookupVerifier;
  readonly #fakeKey: Buffer;
  readonly #log: Logger;

  constructor(lookup: LookupVerifier, fakeSaltKey: Buffer | undefined, log: Logger) {
    this.#lookup = lookup;
    this.#fakeKey = fakeSaltKey ?? randomBytes(32);
    this.#log = log;
  }

  /** The fake salt of an unknown id: the first 16 bytes of HMAC-SHA-256(fakeSaltKey, gatewayId). */
  fakeSalt(gatewayId: string): Buffer {
    return createHmac('sha256', this.#fakeKey).update(gatewayId, 'utf8').digest().subarray(0, FAKE_SALT_BYTES);
  }

  /** Looks the id up and builds the challenge. Rejects only when the lookup hook throws. */
  async challenge(hello: Hello): Promise<PendingAuth> {
    const stored = await this.#lookup(hello.gatewayId);
    let verifier: ScramVerifier | undefined;
    if (stored !== undefined) {
      try {
        verifier = parseVerifier(stored);
      } catch (err) {
        // A corrupt record behaves like an unknown id for the gateway; the operator sees why here.
        this.#log.error('stored verifier unreadable; refusing this gateway', { gatewayId: hello.gatewayId, err });
      }
    }
    const known = verifier !== undefined;
    verifier ??= this.#fakeVerifier(hello.gatewayId);
    const challenge: Challenge = {
      serverNonce: makeNonce(),
      salt: verifier.salt,
      N: verifier.N,
      r: verifier.r,
      p: verifier.p,
    };
    return { hello, challenge, known, verifier };
  }

  /** Checks the client proof in constant time; on success returns the ServerSignature (base64). */
  verify(pending: PendingAuth, proof: Proof): { ok: true; serverSignature: string } | { ok: false } {
    const { v, gatewayId, clientNonce } = pending.hello;
    const message = authMessage({ v, gatewayId, clientNonce, ...pending.challenge });
    const valid = verifyClientProof(pending.verifier.storedKey, message, proof.clientProof);
    if (!valid || !pending.known) return { ok: false };
    return { ok: true, serverSignature: serverSignature(pending.verifier.serverKey, message).toString('base64') };
  }

  #fakeVerifier(gatewayId: string): ScramVerifier {
    const derive = (label: string): Buffer =>
      createHmac('sha256', this.#fakeKey).update(`${label}\0${gatewayId}`, 'utf8').digest();
    return {
      ...DEFAULT_SCRAM_PARAMS,
      salt: this.fakeSalt(gatewayId),
      storedKey: derive('stored-key'),
      serverKey: derive('server-key'),
    };
  }
}
