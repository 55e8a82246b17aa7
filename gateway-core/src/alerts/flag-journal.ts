import { open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CamgateError, type Logger } from '../util/index.js';
import { sanitizeFlag, type Flag, type FlagTransition } from './flag.js';

/**
 * The flag store's append-only JSONL file. One JSON object per line:
 *   {"v":1,"type":"transition","transition":{…}}   a raised/cleared transition (fsync'd)
 *   {"v":1,"type":"flag","flag":{…}}                a refreshed flag (lastSeen, evidence, cleanScans)
 * Reading replays the lines in order; the last line about a flag wins.
 * A crash can leave a torn last line: it is dropped with a warning and cut
 * off the file, so the next append starts on a line of its own.
 */

export type JournalRecord =
  { v: 1; type: 'transition'; transition: FlagTransition } | { v: 1; type: 'flag'; flag: Flag };

export interface JournalState {
  flags: Map<string, Flag>;
  history: FlagTransition[];
}

/** A line longer than this is not one we wrote: skipped as corrupt. */
const MAX_LINE_CHARS = 1_048_576; // 1 MiB

function parseRecord(line: string): JournalRecord {
  if (line.length > MAX_LINE_CHARS) throw new Error(`line of ${line.length} characters is over the limit`);
  const raw = JSON.parse(line) as unknown;
  if (typeof raw !== 'object' || raw === null || (raw as { v?: unknown }).v !== 1) throw new Error('not a v1 record');
  const r = raw as { type?: unknown; flag?: unknown; transition?: unknown };
  if (r.type === 'flag') return { v: 1, type: 'flag', flag: sanitizeFlag(r.flag) };
  if (r.type === 'transition' && typeof r.transition === 'object' && r.transition !== null) {
    const t = r.transition as { from?: unknown; to?: unknown; at?: unknown; flag?: unknown };
    const okFrom = t.from === 'clear' || t.from === 'raised' || t.from === 'cleared';
    const okTo = t.to === 'raised' || t.to === 'cleared';
    if (!okFrom || !okTo || typeof t.at !== 'string') throw new Error('malformed transition');
    return {
      v: 1,
      type: 'transition',
      transition: {
        flag: sanitizeFlag(t.flag),
        from: t.from as FlagTransition['from'],
        to: t.to as FlagTransition['to'],
        at: t.at,
      },
    };
  }
  throw new Error('unknown record type');
}

export class FlagJournal {
  readonly path: string;
  #fh: FileHandle | undefined;
  #lines = 0;
  readonly #logger: Logger;

  private constructor(path: string, logger: Logger) {
    this.path = path;
    this.#logger = logger;
  }

  /** Lines currently in the file (compaction resets it). */
  get lines(): number {
    return this.#lines;
  }

  /** Opens (or creates) the file and replays it. `historyLimit` bounds the transitions kept in memory. */
  static async open(
    path: string,
    logger: Logger,
    historyLimit: number,
  ): Promise<{ journal: FlagJournal; state: JournalState }> {
    const journal = new FlagJournal(path, logger);
    const state: JournalState = { flags: new Map(), history: [] };
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CamgateError('CAMGATE_FLAG_STORE_IO', `cannot read flag store: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    const lastNewline = text.lastIndexOf('\n');
    if (text.length > 0 && lastNewline !== text.length - 1) {
      // A crash in the middle of an append: the tail after the last newline is torn.
      logger.warn('flag store: ignoring torn last line (crash during write?)', {
        path,
        chars: text.length - lastNewline - 1,
      });
      const keep = Buffer.byteLength(text.slice(0, lastNewline + 1), 'utf8');
      await truncate(path, keep);
      text = text.slice(0, lastNewline + 1);
    }
    const lines = text.split('\n');
    lines.pop(); // after the final newline
    let bad = 0;
    for (const [n, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let rec: JournalRecord;
      try {
        rec = parseRecord(line);
      } catch (err) {
        bad++;
        logger.warn('flag store: skipping corrupt line', { path, line: n + 1, error: (err as Error).message });
        continue;
      }
      if (rec.type === 'transition') {
        state.flags.set(rec.transition.flag.id, rec.transition.flag);
        state.history.push(rec.transition);
        if (state.history.length > historyLimit) state.history.shift();
      } else {
        state.flags.set(rec.flag.id, rec.flag);
      }
    }
    journal.#lines = lines.length;
    if (bad > 0) logger.warn('flag store: corrupt lines skipped', { path, bad });
    journal.#fh = await journal.#openAppend();
    return { journal, state };
  }

  async #openAppend(): Promise<FileHandle> {
    try {
      return await open(this.path, 'a', 0o600);
    } catch (err) {
      throw new CamgateError('CAMGATE_FLAG_STORE_IO', `cannot open flag store: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Appends one record; `sync` waits for it to reach the disk (transitions). */
  async append(rec: JournalRecord, sync: boolean): Promise<void> {
    if (!this.#fh) throw new CamgateError('CAMGATE_FLAG_STORE_CLOSED', 'flag store is closed');
    try {
      await this.#fh.appendFile(`${JSON.stringify(rec)}\n`, 'utf8');
      if (sync) await this.#fh.datasync();
    } catch (err) {
      throw new CamgateError('CAMGATE_FLAG_STORE_IO', `cannot write flag store: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#lines++;
  }

  /**
   * Rewrites the file as the recent history followed by one line per flag,
   * through a temporary file and an atomic rename, so a crash during
   * compaction leaves either the old file or the new one, never half of each.
   */
  async compact(state: JournalState): Promise<void> {
    if (!this.#fh) throw new CamgateError('CAMGATE_FLAG_STORE_CLOSED', 'flag store is closed');
    const tmp = `${this.path}.compact`;
    const body: string[] = [];
    for (const t of state.history) body.push(JSON.stringify({ v: 1, type: 'transition', transition: t }));
    for (const f of state.flags.values()) body.push(JSON.stringify({ v: 1, type: 'flag', flag: f }));
    try {
      const out = await open(tmp, 'w', 0o600);
      try {
        await out.writeFile(body.length ? `${body.join('\n')}\n` : '', 'utf8');
        await out.sync();
      } finally {
        await out.close();
      }
      await this.#fh.close();
      this.#fh = undefined;
      await rename(tmp, this.path);
      await this.#syncDir();
    } catch (err) {
      throw new CamgateError('CAMGATE_FLAG_STORE_IO', `cannot compact flag store: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      this.#fh ??= await this.#openAppend();
    }
    this.#logger.debug('flag store compacted', { path: this.path, from: this.#lines, to: body.length });
    this.#lines = body.length;
  }

  /** The rename is durable only once the directory entry is (POSIX rename(2) + fsync(dir)). */
  async #syncDir(): Promise<void> {
    let dir: FileHandle | undefined;
    try {
      dir = await open(dirname(this.path), 'r');
      await dir.sync();
    } catch {
      // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
    } finally {
      await dir?.close();
    }
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}
