import { defaultLogger, type Logger } from '../../util/index.js';
import type { FlagKind, FlagObservation, FlagSink } from '../evidence.js';
import type { ProbeOptions } from '../probes/options.js';
import { auditDefaultCredentials, type DefaultCredentialOptions } from './default-credentials.js';
import { auditTelnet } from './telnet.js';
import { checkCameras, type AuditCamera } from './types.js';
import { auditUpnp, type PortMapping, type UpnpOptions } from './upnp.js';

export interface LanAuditOptions {
  gatewayId: string;
  /** Registered cameras: the only hosts the audit touches. */
  cameras: AuditCamera[];
  /** Where findings go (`FlagStore`); without it `run()` only returns them. */
  flags?: FlagSink;
  /** Telnet check (on by default). */
  telnet?: { enabled?: boolean } & Omit<ProbeOptions, 'signal'>;
  /** UPnP IGD mapping check (on by default). */
  upnp?: { enabled?: boolean } & Omit<UpnpOptions, 'signal'>;
  /** Factory-default credentials check: OFF unless enabled (it logs in to the owner's cameras). */
  defaultCredentials?: { enabled?: boolean } & Omit<DefaultCredentialOptions, 'signal'>;
  logger?: Logger;
}

export interface AuditResult {
  startedAt: string;
  finishedAt: string;
  /** Kinds that ran to completion (and were reconciled). */
  checked: FlagKind[];
  observations: FlagObservation[];
  upnp?: { location?: string; mappings: PortMapping[] };
  /** Checks that failed, by kind; their flags are left as they were. */
  errors: { kind: FlagKind; error: Error }[];
}

/**
 * The gateway's inside look at the LAN for what botnets use: telnet on a
 * camera, UPnP mappings to a camera, factory-default passwords (opt-in).
 * A check that fails is not a clean result: its kind is left out of the
 * reconcile scope, so an unreachable router cannot clear a raised flag.
 */
export class LanAudit {
  readonly #o: LanAuditOptions;
  readonly #log: Logger;

  constructor(opts: LanAuditOptions) {
    if (!opts || typeof opts.gatewayId !== 'string' || opts.gatewayId === '')
      throw new TypeError('gatewayId must be a non-empty string');
    checkCameras(opts.cameras);
    if (opts.flags !== undefined && typeof opts.flags.reconcile !== 'function')
      throw new TypeError('flags must have a reconcile() method');
    this.#o = opts;
    this.#log = opts.logger ?? defaultLogger('exposure:audit');
  }

  async run(opts: { signal?: AbortSignal } = {}): Promise<AuditResult> {
    const { gatewayId, cameras } = this.#o;
    const startedAt = new Date().toISOString();
    const result: AuditResult = { startedAt, finishedAt: startedAt, checked: [], observations: [], errors: [] };
    const step = async (kind: FlagKind, fn: () => Promise<FlagObservation[]>): Promise<void> => {
      try {
        result.observations.push(...(await fn()));
        result.checked.push(kind);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const error = err instanceof Error ? err : new Error(String(err));
        this.#log.warn('audit check failed', { kind, error });
        result.errors.push({ kind, error });
      }
    };
    if (this.#o.telnet?.enabled !== false) {
      await step('telnet-open', () => auditTelnet(gatewayId, cameras, { ...this.#o.telnet, signal: opts.signal }));
    }
    if (this.#o.upnp?.enabled !== false) {
      await step('upnp-mapping', async () => {
        const r = await auditUpnp(gatewayId, cameras, { ...this.#o.upnp, signal: opts.signal });
        result.upnp = { mappings: r.mappings, ...(r.location ? { location: r.location } : {}) };
        return r.observations;
      });
    }
    if (this.#o.defaultCredentials?.enabled === true) {
      await step('default-credentials', () =>
        auditDefaultCredentials(gatewayId, cameras, { ...this.#o.defaultCredentials, signal: opts.signal }),
      );
    }
    result.finishedAt = new Date().toISOString();
    if (this.#o.flags && result.checked.length > 0) {
      await this.#o.flags.reconcile({ source: 'gateway', gatewayId, kinds: result.checked }, result.observations);
    }
    return result;
  }
}
