import { EventEmitter } from 'node:events';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { FLAG_KINDS, flagId, sanitizeFlag, sanitizeObservation } from './flag.js';
import type { Flag, FlagKind, FlagObservation, FlagTransition } from './flag.js';
import { FlagJournal, type JournalRecord } from './flag-journal.js';

export interface FlagStoreOptions {
  /** Append-only JSONL file; `undefined` keeps flags in memory only. */
  path?: string;
  /** Consecutive clean scans (in scope, flag not found) before a raised flag is cleared. */
  clearAfterCleanScans?: number;
  /** Compact the file once it holds more lines than this. */
  compactAfterLines?: number;
  /** Transitions kept for `history()` (and across compaction). */
  historyLimit?: number;
  /** Flags held at most; the oldest cleared flags are forgotten first. */
  maxFlags?: number;
  /** Clock, injectable so tests assert exact timestamps. */
  now?: () => Date;
  logger?: Logger;
}

export const DEFAULT_FLAG_STORE_OPTIONS = {
  clearAfterCleanScans: 2, // scans; one missed probe (packet loss) must not clear a flag
  compactAfterLines: 10_000, // lines, ~10 MB at worst
  historyLimit: 1_000, // transitions
  maxFlags: 10_000, // flags; bounds memory against a misbehaving hub
} as const;

export interface ReconcileScope {
  source: 'hub' | 'gateway';
  gatewayId: string;
  /** The kinds the scan looked for: raised flags of other kinds are left alone. */
  kinds: FlagKind[];
  /** Set when the scan covered one camera only. */
  cameraId?: string;
}

export interface FlagFilter {
  state?: 'raised' | 'cleared';
  kind?: FlagKind;
  gatewayId?: string;
  cameraId?: string;
}

function positiveInt(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

type ResolvedOptions = Required<Omit<FlagStoreOptions, 'path' | 'logger'>>;

const copy = <T>(v: T): T => structuredClone(v);

/**
 * Flags and their raised/cleared transitions. A flag alerts once when raised
 * and once when cleared: later scans that see it again only refresh
 * `lastSeen` and the evidence. Transitions are written (and fsync'd) before
 * the `transition` event fires, so whatever a listener publishes is already
 * on disk; reopening restores the state without emitting anything.
 */
export class FlagStore extends EventEmitter<{ transition: [FlagTransition] }> {
  readonly #flags = new Map<string, Flag>();
  readonly #history: FlagTransition[] = [];
  readonly #journal: FlagJournal | undefined;
  readonly #opts: ResolvedOptions;
  readonly #logger: Logger;
  #queue: Promise<unknown> = Promise.resolve();
  #state: 'open' | 'closing' | 'closed' = 'open';

  private constructor(journal: FlagJournal | undefined, opts: ResolvedOptions, logger: Logger) {
    super();
    this.#journal = journal;
    this.#opts = opts;
    this.#logger = logger;
  }

  static async open(options: FlagStoreOptions = {}): Promise<FlagStore> {
    if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
      throw new TypeError(`path must be a non-empty string or undefined, got ${JSON.stringify(options.path)}`);
    }
    const d = DEFAULT_FLAG_STORE_OPTIONS;
    const opts = {
      clearAfterCleanScans: positiveInt(
        'clearAfterCleanScans',
        options.clearAfterCleanScans ?? d.clearAfterCleanScans,
        1,
      ),
      compactAfterLines: positiveInt('compactAfterLines', options.compactAfterLines ?? d.compactAfterLines, 2),
      historyLimit: positiveInt('historyLimit', options.historyLimit ?? d.historyLimit, 1),
      maxFlags: positiveInt('maxFlags', options.maxFlags ?? d.maxFlags, 1),
      now: options.now ?? (() => new Date()),
    };
    if (typeof opts.now !== 'function') throw new TypeError('now must be a function returning a Date');
    const logger = options.logger ?? defaultLogger('alerts:flags');
    if (options.path === undefined) return new FlagStore(undefined, opts, logger);
    const { journal, state } = await FlagJournal.open(options.path, logger, opts.historyLimit);
    const store = new FlagStore(journal, opts, logger);
    for (const [id, f] of state.flags) store.#flags.set(id, f);
    store.#history.push(...state.history);
    logger.debug('flag store opened', { path: options.path, flags: state.flags.size, lines: journal.lines });
    return store;
  }

  /** Runs mutations one at a time, in call order, so the file and the events keep the same order. */
  #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#state !== 'open')
      return Promise.reject(new CamgateError('CAMGATE_FLAG_STORE_CLOSED', 'flag store is closed'));
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #persist(records: JournalRecord[]): Promise<void> {
    if (!this.#journal || records.length === 0) return;
    for (const [i, rec] of records.entries()) {
      // fsync once per batch that holds a transition, after its last line.
      const sync = i === records.length - 1 && records.some((r) => r.type === 'transition');
      await this.#journal.append(rec, sync);
    }
    if (this.#journal.lines > this.#opts.compactAfterLines) {
      await this.#journal.compact({ flags: this.#flags, history: this.#history });
    }
  }

  #emit(transitions: FlagTransition[]): void {
    for (const t of transitions) this.emit('transition', copy(t));
  }

  #record(t: FlagTransition, records: JournalRecord[], out: FlagTransition[]): void {
    this.#history.push(t);
    if (this.#history.length > this.#opts.historyLimit) this.#history.shift();
    records.push({ v: 1, type: 'transition', transition: copy(t) });
    out.push(t);
  }

  /** Makes room for one more flag: forgets the oldest cleared flag, or refuses. */
  #admit(id: string): void {
    if (this.#flags.has(id) || this.#flags.size < this.#opts.maxFlags) return;
    for (const [oldId, f] of this.#flags) {
      if (f.state === 'cleared') {
        this.#flags.delete(oldId);
        return;
      }
    }
    throw new CamgateError('CAMGATE_FLAG_LIMIT', `flag store holds ${this.#opts.maxFlags} raised flags; refusing more`);
  }

  /** Applies one sanitised observation: raise, re-raise or refresh. */
  #observe(obs: FlagObservation, at: string, records: JournalRecord[], out: FlagTransition[]): void {
    const id = flagId(obs.kind, obs.gatewayId, obs.cameraId, obs.key);
    const prev = this.#flags.get(id);
    if (prev?.state === 'raised') {
      const f: Flag = { ...prev, evidence: obs.evidence, advice: obs.advice, lastSeen: at, cleanScans: 0 };
      this.#flags.set(id, f);
      records.push({ v: 1, type: 'flag', flag: copy(f) });
      return;
    }
    this.#admit(id);
    const f: Flag = {
      ...obs,
      id,
      state: 'raised',
      firstSeen: prev?.firstSeen ?? at,
      lastSeen: at,
      raisedAt: at,
      cleanScans: 0,
    };
    this.#flags.set(id, f);
    this.#record({ flag: copy(f), from: prev ? 'cleared' : 'clear', to: 'raised', at }, records, out);
  }

  /**
   * Applies the result of one scan. `found` must lie inside `scope`. New
   * flags are raised; raised flags found again are refreshed without a
   * transition; raised flags in scope not found count a clean scan and clear
   * at `clearAfterCleanScans`. Resolves with the transitions, in order.
   */
  reconcile(scope: ReconcileScope, found: FlagObservation[]): Promise<FlagTransition[]> {
    if (typeof scope !== 'object' || scope === null) throw new TypeError('scope must be an object');
    if (scope.source !== 'hub' && scope.source !== 'gateway') {
      throw new RangeError(`scope.source must be 'hub' or 'gateway', got ${JSON.stringify(scope.source)}`);
    }
    if (typeof scope.gatewayId !== 'string' || scope.gatewayId === '')
      throw new TypeError('scope.gatewayId must be a non-empty string');
    if (!Array.isArray(scope.kinds) || scope.kinds.some((k) => !FLAG_KINDS.includes(k))) {
      throw new RangeError(
        `scope.kinds must be a list of ${FLAG_KINDS.join(', ')}; got ${JSON.stringify(scope.kinds)}`,
      );
    }
    if (!Array.isArray(found)) throw new TypeError('found must be an array of flag observations');
    const observations = found.map((o, i) => {
      const s = sanitizeObservation(o);
      const inScope =
        s.source === scope.source &&
        s.gatewayId === scope.gatewayId &&
        scope.kinds.includes(s.kind) &&
        (scope.cameraId === undefined || s.cameraId === scope.cameraId);
      if (!inScope) throw new RangeError(`found[${i}] (${s.kind} from ${s.source}) lies outside the reconcile scope`);
      return s;
    });
    return this.#run(async () => {
      const at = this.#opts.now().toISOString();
      const records: JournalRecord[] = [];
      const out: FlagTransition[] = [];
      const seen = new Set<string>();
      for (const obs of observations) {
        seen.add(flagId(obs.kind, obs.gatewayId, obs.cameraId, obs.key));
        this.#observe(obs, at, records, out);
      }
      for (const f of [...this.#flags.values()]) {
        const inScope =
          f.state === 'raised' &&
          !seen.has(f.id) &&
          f.source === scope.source &&
          f.gatewayId === scope.gatewayId &&
          scope.kinds.includes(f.kind) &&
          (scope.cameraId === undefined || f.cameraId === scope.cameraId);
        if (!inScope) continue;
        const cleanScans = f.cleanScans + 1;
        if (cleanScans >= this.#opts.clearAfterCleanScans) {
          const cleared: Flag = { ...f, state: 'cleared', clearedAt: at, cleanScans };
          this.#flags.set(f.id, cleared);
          this.#record({ flag: copy(cleared), from: 'raised', to: 'cleared', at }, records, out);
        } else {
          const counted: Flag = { ...f, cleanScans };
          this.#flags.set(f.id, counted);
          records.push({ v: 1, type: 'flag', flag: copy(counted) });
        }
      }
      await this.#persist(records);
      this.#emit(out);
      return out.map(copy);
    });
  }

  /** Raises (or refreshes) one flag observed by a single source, e.g. one forwarded by the hub. */
  raise(obs: FlagObservation): Promise<FlagTransition | undefined> {
    const s = sanitizeObservation(obs);
    return this.#run(async () => {
      const records: JournalRecord[] = [];
      const out: FlagTransition[] = [];
      this.#observe(s, this.#opts.now().toISOString(), records, out);
      await this.#persist(records);
      this.#emit(out);
      return out[0] ? copy(out[0]) : undefined;
    });
  }

  /**
   * Adopts a flag whose state was computed elsewhere (the gateway receives
   * the hub's flags through the tunnel). A change of state is a transition;
   * the same state only refreshes. The flag is validated and its id checked.
   */
  apply(flag: Flag): Promise<FlagTransition | undefined> {
    const f = sanitizeFlag(flag);
    return this.#run(async () => {
      const prev = this.#flags.get(f.id);
      const records: JournalRecord[] = [];
      const out: FlagTransition[] = [];
      this.#admit(f.id);
      this.#flags.set(f.id, f);
      const from = prev ? prev.state : 'clear';
      if ((from === 'clear' && f.state === 'raised') || (prev && prev.state !== f.state)) {
        const at = f.state === 'raised' ? f.raisedAt : (f.clearedAt ?? this.#opts.now().toISOString());
        this.#record({ flag: copy(f), from, to: f.state, at }, records, out);
      } else {
        records.push({ v: 1, type: 'flag', flag: copy(f) });
      }
      await this.#persist(records);
      this.#emit(out);
      return out[0] ? copy(out[0]) : undefined;
    });
  }

  /** Current flags matching `filter` (copies). */
  list(filter: FlagFilter = {}): Flag[] {
    const out: Flag[] = [];
    for (const f of this.#flags.values()) {
      if (filter.state !== undefined && f.state !== filter.state) continue;
      if (filter.kind !== undefined && f.kind !== filter.kind) continue;
      if (filter.gatewayId !== undefined && f.gatewayId !== filter.gatewayId) continue;
      if (filter.cameraId !== undefined && f.cameraId !== filter.cameraId) continue;
      out.push(copy(f));
    }
    return out;
  }

  /** The most recent transitions, oldest first (copies). */
  history(limit = this.#opts.historyLimit): FlagTransition[] {
    positiveInt('limit', limit, 1);
    return this.#history.slice(-limit).map(copy);
  }

  /** Waits for pending writes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    await this.#queue;
    try {
      await this.#journal?.close();
    } catch (err) {
      this.#logger.warn('flag store: close failed', { error: err });
    }
    this.#state = 'closed';
    this.#logger.debug('flag store closed');
  }
}
