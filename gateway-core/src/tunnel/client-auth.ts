import { CamgateError } from '../util/index.js';
import { FrameType, TUNNEL_CLOSE, TUNNEL_PROTOCOL_VERSION } from './constants.js';
import { decodeJson, encodeFrame, encodeJson, type Frame } from './frame.js';
import { parseChallenge, type Challenge, type Hello } from './handshake.js';
import {
  authMessage,
  clientProof,
  decodeB64,
  deriveKeys,
  equalConstantTime,
  makeNonce,
  saltedPassword,
  SCRAM_KEY_BYTES,
  serverSignature,
} from './scram.js';
import type { Wire } from './wire.js';

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

/** What the TunnelClient plugs into one handshake. */
export interface ClientHandshakeHooks {
  /** Read when the proof is sent: the announce and, when a session is held, where to resume it. */
  proofExtras(): { announce: unknown; resume?: { session: string; recv: number } };
  /** WELCOME arrived; `checkSignature` compares its serverSignature with the expected one. */
  onWelcome(f: Frame, checkSignature: (signatureB64: string) => boolean): void;
  /** The gateway refuses the hub (hostile challenge, failed derivation). */
  refuse(reason: string): void;
}

/**
 * Sends HELLO and drives CHALLENGE → PROOF → WELCOME on `wire` (docs/tunnel.md
 * "Handshake"). A frame out of order throws CAMGATE_TUNNEL_PROTOCOL, which the
 * Wire turns into close 4400. The cost in the challenge is checked by
 * parseChallenge before any scrypt work, so a hostile hub cannot burn the
 * gateway's CPU or memory (refuse, CAMGATE_TUNNEL_AUTH).
 */
export function startClientHandshake(
  wire: Wire,
  scram: ScramClient,
  gatewayId: string,
  hooks: ClientHandshakeHooks,
): void {
  const hello: Hello = { v: TUNNEL_PROTOCOL_VERSION, gatewayId, clientNonce: makeNonce() };
  let phase: 'challenge' | 'computing' | 'welcome' = 'challenge';
  let check: ((sig: string) => boolean) | undefined;
  const send = (type: number, body: unknown): void =>
    wire.send(encodeFrame({ type: type as Frame['type'], channel: 0, seq: 0, ack: 0, payload: encodeJson(body) }));

  const onChallenge = async (f: Frame): Promise<void> => {
    let challenge: Challenge;
    try {
      challenge = parseChallenge(decodeJson(f.payload));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'CAMGATE_TUNNEL_AUTH') throw err;
      void wire.close(TUNNEL_CLOSE.PROTOCOL, (err as Error).message);
      return;
    }
    const exchange = await scram.answer(hello.v, gatewayId, hello.clientNonce, challenge);
    if (wire.closed) return;
    send(FrameType.PROOF, { clientProof: exchange.clientProof, ...hooks.proofExtras() });
    check = (sig) => exchange.checkServerSignature(sig);
    phase = 'welcome';
  };

  const onFrame = (f: Frame): void => {
    if (phase === 'challenge' && f.type === FrameType.CHALLENGE) {
      phase = 'computing';
      onChallenge(f).catch((err: unknown) => hooks.refuse((err as Error).message));
    } else if (phase === 'welcome' && f.type === FrameType.WELCOME && check) {
      wire.off('frame', onFrame);
      hooks.onWelcome(f, check);
    } else {
      const type = `0x${f.type.toString(16).padStart(2, '0')}`;
      throw new CamgateError('CAMGATE_TUNNEL_PROTOCOL', `unexpected frame ${type} during the handshake (${phase})`);
    }
  };
  wire.on('frame', onFrame);
  send(FrameType.HELLO, hello);
}
