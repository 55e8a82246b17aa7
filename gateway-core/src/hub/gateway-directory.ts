import { parseVerifier, type LookupVerifier } from '../tunnel/index.js';
import { CamgateError } from '../util/index.js';

/** A gateway the hub knows: its id and the SCRAM verifier of its secret (`makeVerifier`), never the secret. */
export interface GatewayRecord {
  id: string;
  name?: string;
  /** `scram-scrypt$N$r$p$salt$storedKey$serverKey` — written by `camgate hub add-gateway` (docs/tunnel.md). */
  secretHash: string;
  /** The home's public address, when it differs from the address the tunnel arrives from. */
  publicAddress?: string;
}

/**
 * The gateways allowed to connect. The TunnelServer runs the SCRAM exchange
 * (docs/tunnel.md "Handshake"); this only answers which verifier an id has.
 * Unknown ids get a fake challenge from the TunnelServer, so nothing here
 * needs to equalise work.
 */
export class GatewayDirectory {
  readonly #records = new Map<string, GatewayRecord>();

  constructor(records: readonly GatewayRecord[] = []) {
    for (const r of records) this.add(r);
  }

  get(id: string): GatewayRecord | undefined {
    return this.#records.get(id);
  }

  list(): GatewayRecord[] {
    return [...this.#records.values()];
  }

  /** Adds or replaces a gateway. Throws CAMGATE_CONFIG_INVALID when secretHash is not a readable verifier. */
  add(record: GatewayRecord): void {
    try {
      parseVerifier(record.secretHash);
    } catch (err) {
      throw new CamgateError('CAMGATE_CONFIG_INVALID', `gateway ${record.id}: secretHash: ${(err as Error).message}`);
    }
    this.#records.set(record.id, record);
  }

  /** The TunnelServer's `lookupVerifier` hook. */
  lookupVerifier: LookupVerifier = (gatewayId) => this.#records.get(gatewayId)?.secretHash;
}
