/**
 * The gateway's LAN audit on a schedule (FlagService's part that runs it):
 * one audit every `intervalMs` ± jitter, one on demand, never two at once,
 * and `close()` aborts the one that runs. Findings go to the flag store the
 * LanAudit was built with; results and failures are handed to hooks.
 */
import type { CameraConfig } from '../config/index.js';
import { LanAudit, type AuditCamera, type AuditResult, type LanAuditOptions } from '../exposure/index.js';
import type { FlagStore } from '../alerts/index.js';
import type { Logger } from '../util/index.js';

/** The LAN audit's schedule and checks. */
export interface GatewayAuditOptions {
  /** Time between audits, in ms. */
  intervalMs?: number;
  /** UPnP IGD mapping check; an object aims SSDP at a unicast address (and port). */
  upnp?: boolean | { ssdpAddress?: string; ssdpPort?: number; discoverTimeoutMs?: number };
  /** Telnet check on each camera. */
  telnet?: boolean;
  /** Factory-default credentials check (opt-in: it logs in to the cameras). */
  defaultCredentials?: boolean;
  /** Run one audit right after start (besides the schedule). */
  onStart?: boolean;
}

export interface AuditScheduleOptions {
  audit: LanAudit;
  /** Time between audits, ms (already validated). */
  intervalMs: number;
  /** Spread of the interval, ± this fraction. */
  jitter: number;
  /** Run one audit at `start()`. */
  onStart: boolean;
  logger: Logger;
  /** Every finished audit, scheduled or on demand. */
  onResult: (r: AuditResult) => void;
  /** A scheduled audit failed (on-demand ones reject instead); already logged. */
  onError: (err: Error) => void;
}

export class AuditSchedule {
  readonly #o: AuditScheduleOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<AuditResult> | undefined;
  readonly #abort = new AbortController();
  #state: 'idle' | 'running' | 'closed' = 'idle';

  constructor(opts: AuditScheduleOptions) {
    this.#o = opts;
  }

  /** Starts the schedule (and one audit now with `onStart`). Only once. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    if (this.#o.onStart) this.#scheduled();
    else this.#schedule();
  }

  /** Runs the audit now; while one runs, returns that one. */
  runNow(): Promise<AuditResult> {
    if (this.#running) return this.#running;
    const run = this.#o.audit.run({ signal: this.#abort.signal }).then((r) => {
      this.#o.onResult(r);
      return r;
    });
    this.#running = run;
    const done = (): void => {
      if (this.#running === run) this.#running = undefined;
    };
    run.then(done, done);
    return run;
  }

  /** Stops the schedule, aborts a running audit and waits for it. Idempotent. */
  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
  }

  #schedule(): void {
    if (this.#state !== 'running') return;
    clearTimeout(this.#timer);
    const { intervalMs, jitter } = this.#o;
    this.#timer = setTimeout(() => this.#scheduled(), Math.round(intervalMs * (1 + jitter * (2 * Math.random() - 1))));
    this.#timer.unref();
  }

  #scheduled(): void {
    this.#timer = undefined;
    this.runNow()
      .catch((err: unknown) => {
        if (this.#state !== 'running') return;
        this.#o.logger.warn('scheduled LAN audit failed', { error: err });
        this.#o.onError(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => this.#schedule());
  }
}

/** The audit's view of a camera: its LAN host and RTSP port (RFC 2326 §3.2: 554 by default; rtsps 322). */
export function auditCamera(c: CameraConfig): AuditCamera {
  const url = new URL(c.url);
  const port = url.port ? Number(url.port) : url.protocol === 'rtsps:' ? 322 : 554;
  return {
    id: c.id,
    name: c.name,
    host: c.host ?? url.hostname.replace(/^\[|\]$/g, ''),
    rtsp: { port, path: url.pathname },
  };
}

/** The LanAudit of these cameras and checks, writing its findings to `store`. */
export function buildAudit(
  gatewayId: string,
  cameras: readonly CameraConfig[],
  a: GatewayAuditOptions,
  store: FlagStore,
  log: Logger,
): LanAudit {
  const upnp: LanAuditOptions['upnp'] =
    typeof a.upnp === 'object' ? { enabled: true, ...a.upnp } : { enabled: a.upnp !== false };
  return new LanAudit({
    gatewayId,
    cameras: cameras.map(auditCamera),
    flags: store,
    telnet: { enabled: a.telnet !== false },
    upnp,
    defaultCredentials: { enabled: a.defaultCredentials === true },
    logger: log.child('audit'),
  });
}
