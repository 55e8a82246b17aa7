import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { adviceFor, type Evidence, type FlagObservation, type FlagStore } from '../alerts/index.js';
import {
  CanaryInbox,
  readConntrack,
  ScanDetector,
  type AuditCamera,
  type CanaryReport,
  type ConntrackReadOptions,
  type ScanDetectorOptions,
  type ScanFinding,
} from '../exposure/index.js';
import { defaultLogger, normalizeAddress, type Logger } from '../util/index.js';

/**
 * Compromise behaviour, wired: turns what the LAN canary saw (reports over
 * its Unix socket, report.ts) and what the router's connection table shows
 * (conntrack, polled here) into `compromise` flags in the gateway's store —
 * named by camera when the source address is one of the gateway's cameras,
 * by address otherwise. Everything that publishes the store (MQTT, Home
 * Assistant, Node-RED, HomeKit, the hub's viewer) publishes these flags.
 */

export interface ConntrackWatchOptions extends ConntrackReadOptions, ScanDetectorOptions {
  /** Time between readings of the table, ms. */
  intervalMs?: number;
}

export interface CompromiseWatchOptions {
  gatewayId: string;
  /** The gateway's cameras (id, name, LAN host): how a source address becomes a camera's name. */
  cameras: readonly Pick<AuditCamera, 'id' | 'name' | 'host'>[];
  store: FlagStore;
  /** Accept reports of `camgate canary` on this Unix socket. */
  canarySocket?: string;
  /** File mode of that socket (default 0o600). */
  canarySocketMode?: number;
  /** Read the connection table (camgate running on the router); `true` for the defaults. */
  conntrack?: boolean | ConntrackWatchOptions;
  /** A flag clears once its source has been quiet this long (and the store's clean checks have passed), ms. */
  quietMs?: number;
  /** At most one refresh of a raised flag's evidence per this many ms (the first raise is immediate). */
  refreshMs?: number;
  logger?: Logger;
}

export const DEFAULT_COMPROMISE_WATCH_OPTIONS = {
  conntrackIntervalMs: 5_000, // 5 s: shorter than the 10 s a refused connection stays in the table (CLOSE state)
  quietMs: 24 * 3_600_000, // 24 h: an infected device rebooted loses Mirai from memory but is reinfected within minutes
  refreshMs: 5_000, // 5 s: a scan at 160 connections/s must not become 160 disk writes/s
  sources: 1_024, // flags tracked at once
} as const;

interface Tracked {
  obs: FlagObservation;
  lastEvidenceAt: number;
  lastRaiseAt: number;
  timer: NodeJS.Timeout | undefined;
}

type Resolved = CompromiseWatchOptions & { quietMs: number; refreshMs: number };

export class CompromiseWatch extends EventEmitter<{ error: [Error] }> {
  readonly #o: Resolved;
  readonly #log: Logger;
  readonly #tracked = new Map<string, Tracked>();
  #inbox: CanaryInbox | undefined;
  #detector: ScanDetector | undefined;
  #conntrackTimer: NodeJS.Timeout | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #addresses: { at: number; map: Map<string, Pick<AuditCamera, 'id' | 'name' | 'host'>> } | undefined;
  #lastConntrackError = '';
  #closed = false;

  private constructor(o: Resolved, log: Logger) {
    super();
    this.#o = o;
    this.#log = log;
  }

  static async start(options: CompromiseWatchOptions): Promise<CompromiseWatch> {
    if (!options || typeof options !== 'object') throw new TypeError('CompromiseWatch options must be an object');
    if (typeof options.gatewayId !== 'string' || options.gatewayId === '')
      throw new TypeError('CompromiseWatch option gatewayId must be a non-empty string');
    const d = DEFAULT_COMPROMISE_WATCH_OPTIONS;
    const quietMs = options.quietMs ?? d.quietMs;
    const refreshMs = options.refreshMs ?? d.refreshMs;
    if (!Number.isInteger(quietMs) || quietMs < 1000 || quietMs > 90 * 86_400_000)
      throw new RangeError(
        `CompromiseWatch option quietMs must be an integer from 1000 to 90 days (ms), got ${quietMs}`,
      );
    if (!Number.isInteger(refreshMs) || refreshMs < 0 || refreshMs > 3_600_000)
      throw new RangeError(
        `CompromiseWatch option refreshMs must be an integer from 0 to 3600000 (ms), got ${refreshMs}`,
      );
    const log = options.logger ?? defaultLogger('gateway:compromise');
    const w = new CompromiseWatch({ ...options, quietMs, refreshMs }, log);
    // Flags raised before a restart keep counting towards their quiet time from when they were last seen.
    for (const f of options.store.list({ kind: 'compromise', gatewayId: options.gatewayId, state: 'raised' })) {
      const { id: _id, state: _s, firstSeen: _f, lastSeen, raisedAt: _r, clearedAt: _c, cleanScans: _n, ...obs } = f;
      w.#tracked.set(f.id, { obs, lastEvidenceAt: Date.parse(lastSeen), lastRaiseAt: 0, timer: undefined });
    }
    try {
      if (options.canarySocket !== undefined) {
        w.#inbox = await CanaryInbox.open({
          path: options.canarySocket,
          ...(options.canarySocketMode !== undefined ? { mode: options.canarySocketMode } : {}),
          logger: log.child('canary-inbox'),
        });
        w.#inbox.on('report', (r) => void w.#fromCanary(r));
      }
      if (options.conntrack) {
        const c = options.conntrack === true ? {} : options.conntrack;
        w.#detector = new ScanDetector(c);
        const interval = c.intervalMs ?? d.conntrackIntervalMs;
        if (!Number.isInteger(interval) || interval < 500)
          throw new RangeError(
            `CompromiseWatch option conntrack.intervalMs must be an integer >= 500 (ms), got ${interval}`,
          );
        w.#pollConntrack(c, interval);
      }
    } catch (err) {
      await w.close();
      throw err;
    }
    const check = Math.min(Math.max(Math.floor(quietMs / 4), 1000), 3_600_000);
    w.#quietTimer = setInterval(() => void w.#clearQuiet(), check);
    w.#quietTimer.unref();
    return w;
  }

  /** The Unix socket `camgate canary --report` writes to, when open. */
  get canarySocket(): string | undefined {
    return this.#inbox?.path;
  }

  /** Source address → camera, from the cameras' hosts (names are resolved, at most once a minute). */
  async #cameraMap(): Promise<Map<string, Pick<AuditCamera, 'id' | 'name' | 'host'>>> {
    const now = Date.now();
    if (this.#addresses && now - this.#addresses.at < 60_000) return this.#addresses.map;
    const map = new Map<string, Pick<AuditCamera, 'id' | 'name' | 'host'>>();
    for (const c of this.#o.cameras) {
      const host = c.host.replace(/^\[|\]$/g, '');
      if (isIP(host)) {
        map.set(normalizeAddress(host), c);
        continue;
      }
      try {
        const found = await Promise.race([
          lookup(host, { all: true }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
        for (const a of found) map.set(normalizeAddress(a.address), c);
      } catch (err) {
        this.#log.debug('camera host not resolved; its flags will name its address', { camera: c.id, err });
      }
    }
    this.#addresses = { at: now, map };
    return map;
  }

  async #fromCanary(r: CanaryReport): Promise<void> {
    const more = r.suppressed > 0 ? ` (and ${r.suppressed} more connections not recorded: rate limit)` : '';
    await this.report(r.source, {
      host: r.source,
      port: r.port,
      protocol: 'canary',
      ...(r.firstBytes ? { banner: r.firstBytes } : {}),
      detail: `connected to the LAN canary on port ${r.port}, which offers nothing: only scanners connect there${more}`,
      at: r.at,
    });
  }

  #fromConntrack(f: ScanFinding): Promise<void> {
    const detail =
      f.reason === 'scan'
        ? `opened TCP connections to ${f.destinations} different addresses on scanner ports ${f.ports.join(', ')} ` +
          `within the window (router connection table); e.g. ${f.examples.join(', ')}`
        : `opened telnet connections to the internet (router connection table): ${f.examples.join(', ')}`;
    return this.report(f.source, {
      host: f.source,
      ...(f.ports[0] !== undefined ? { port: f.ports[0] } : {}),
      protocol: 'conntrack',
      detail,
      at: new Date().toISOString(),
    });
  }

  /** Records one piece of evidence that `source` scans, and raises (or refreshes) its flag. */
  async report(source: string, evidence: Evidence): Promise<void> {
    if (this.#closed) return;
    const addr = normalizeAddress(source);
    const camera = (await this.#cameraMap()).get(addr);
    const obs: FlagObservation = {
      kind: 'compromise',
      gatewayId: this.#o.gatewayId,
      ...(camera ? { cameraId: camera.id } : { key: `device-${addr}` }),
      evidence: [],
      advice: adviceFor('compromise', camera ? { cameraName: camera.name ?? camera.id } : { deviceAddress: addr }),
      source: 'gateway',
    };
    const id = `${obs.cameraId ?? ''}|${obs.key ?? ''}`;
    let t = this.#tracked.get(id);
    if (!t) {
      if (this.#tracked.size >= DEFAULT_COMPROMISE_WATCH_OPTIONS.sources) {
        this.#log.warn('too many compromise sources tracked; ignoring a new one', { source: addr });
        return;
      }
      t = { obs, lastEvidenceAt: 0, lastRaiseAt: 0, timer: undefined };
      this.#tracked.set(id, t);
    }
    // Keep the most recent pieces (the store keeps 16, FLAG_LIMITS.evidenceItems).
    t.obs = { ...obs, evidence: [...t.obs.evidence, evidence].slice(-16) };
    t.lastEvidenceAt = Date.now();
    const wait = t.lastRaiseAt + this.#o.refreshMs - Date.now();
    if (wait <= 0) await this.#raise(t);
    else if (!t.timer) {
      t.timer = setTimeout(() => {
        t.timer = undefined;
        void this.#raise(t);
      }, wait);
      t.timer.unref();
    }
  }

  async #raise(t: Tracked): Promise<void> {
    if (this.#closed) return;
    t.lastRaiseAt = Date.now();
    try {
      const tr = await this.#o.store.raise(t.obs);
      if (tr) this.#log.error('compromise flag raised', { flag: tr.flag.id, camera: t.obs.cameraId, key: t.obs.key });
    } catch (err) {
      this.#log.warn('could not raise a compromise flag', { error: err });
      this.#report(err);
    }
  }

  #pollConntrack(c: ConntrackWatchOptions, interval: number): void {
    const read: ConntrackReadOptions = {};
    for (const k of ['source', 'binary', 'procPath', 'maxBytes', 'maxFlows', 'timeoutMs'] as const) {
      if (c[k] !== undefined) (read as Record<string, unknown>)[k] = c[k];
    }
    const tick = async (): Promise<void> => {
      try {
        const flows = await readConntrack(read);
        const watched = new Set((await this.#cameraMap()).keys());
        for (const f of this.#detector!.observe(flows, watched)) await this.#fromConntrack(f);
        this.#lastConntrackError = '';
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== this.#lastConntrackError) {
          this.#lastConntrackError = msg;
          this.#log.warn('cannot read the connection table', { error: err });
          this.#report(err);
        }
      }
      if (!this.#closed) this.#conntrackTimer = setTimeout(() => void tick(), interval);
    };
    void tick();
  }

  /** Clears flags whose source has been quiet for `quietMs` (through the store's clean-check count). */
  async #clearQuiet(): Promise<void> {
    if (this.#closed) return;
    const now = Date.now();
    const active = [...this.#tracked.values()].filter((t) => now - t.lastEvidenceAt < this.#o.quietMs);
    try {
      await this.#o.store.reconcile(
        { source: 'gateway', gatewayId: this.#o.gatewayId, kinds: ['compromise'] },
        active.map((t) => t.obs),
      );
      for (const [id, t] of this.#tracked) if (!active.includes(t) && !t.timer) this.#tracked.delete(id);
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  /** Closes the canary socket and stops reading the table; pending refreshes are written first. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const pending = [...this.#tracked.values()].filter((t) => t.timer);
    for (const t of pending) {
      clearTimeout(t.timer);
      t.timer = undefined;
      await this.#raise(t);
    }
    this.#closed = true;
    clearTimeout(this.#conntrackTimer);
    clearInterval(this.#quietTimer);
    try {
      await this.#inbox?.close();
    } catch (err) {
      this.#log.warn('closing the canary socket failed', { error: err });
    }
  }
}
