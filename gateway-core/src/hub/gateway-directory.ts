import { hashSecret, verifySecret, type AuthDecision, type AuthRequest } from '../tunnel/index.js';

/** A gateway the hub knows: its id and the scrypt hash of its secret, never the secret. */
export interface GatewayRecord {
  id: string;
  name?: string;
  secretHash: string;
  /** The home's public address, when it differs from the address the tunnel arrives from. */
  publicAddress?: string;
}

/** The one reason given for every failed authentication: no oracle for which part was wrong. */
export const AUTH_FAILED_REASON = 'unknown gateway or wrong secret';

/**
 * The gateways allowed to connect. Authentication compares the presented
 * secret with the stored scrypt hash in constant time; an unknown id costs
 * the same scrypt work, so timing does not tell which ids exist.
 */
export class GatewayDirectory {
  readonly #records = new Map<string, GatewayRecord>();
  #dummyHash: Promise<string> | undefined;

  constructor(records: readonly GatewayRecord[] = []) {
    for (const r of records) this.#records.set(r.id, r);
  }

  get(id: string): GatewayRecord | undefined {
    return this.#records.get(id);
  }

  list(): GatewayRecord[] {
    return [...this.#records.values()];
  }

  add(record: GatewayRecord): void {
    this.#records.set(record.id, record);
  }

  /** The TunnelServer's `authenticate` hook. */
  authenticate = async (req: AuthRequest): Promise<AuthDecision> => {
    const record = this.#records.get(req.gatewayId);
    if (!record) {
      this.#dummyHash ??= hashSecret('camgate-no-such-gateway');
      await verifySecret(req.secret, await this.#dummyHash);
      return { ok: false, reason: AUTH_FAILED_REASON };
    }
    return (await verifySecret(req.secret, record.secretHash))
      ? { ok: true }
      : { ok: false, reason: AUTH_FAILED_REASON };
  };
}
