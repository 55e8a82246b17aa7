/**
 * Node's built-in SQLite (`node:sqlite`, Node >= 22.13 without a flag), loaded
 * once. Node 22 marks it experimental and prints an ExperimentalWarning when
 * the module is first loaded; the hub's users did not ask for SQLite and
 * cannot act on that line, so exactly that one warning is dropped while the
 * module loads. Every other warning, and this one in the user's own code,
 * passes as usual (nothing is silenced process-wide).
 */
import { createRequire } from 'node:module';
import type * as Sqlite from 'node:sqlite';
import { CamgateError } from '../../util/index.js';

let loaded: typeof Sqlite | undefined;

/** `node:sqlite`, or CAMGATE_SQLITE_UNAVAILABLE on a Node without it. */
export function loadSqlite(): typeof Sqlite {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const emitWarning = process.emitWarning;
  // Synchronous load between the swap and the restore: no other code runs in this window.
  process.emitWarning = function filtered(this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    const name = typeof warning === 'string' ? type : warning.name;
    if (name === 'ExperimentalWarning' && /^SQLite\b/.test(text)) return;
    (emitWarning as (...a: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    loaded = require('node:sqlite') as typeof Sqlite;
  } catch (err) {
    throw new CamgateError(
      'CAMGATE_SQLITE_UNAVAILABLE',
      `node:sqlite is not available in Node ${process.versions.node} (Node 22.13 or newer is needed)`,
      { cause: err },
    );
  } finally {
    process.emitWarning = emitWarning;
  }
  return loaded;
}
