import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { describeYamlError, validateConfig } from '../config/index.js';
import { CamgateError, type Logger } from '../util/index.js';

/**
 * Edits a YAML configuration in place, keeping the user's comments and
 * layout (yaml's Document API). The whole result is validated with `schema`
 * before anything is written, so a bad edit leaves the file as it was; the
 * write is atomic (temp file beside it, fsync, rename) with mode 0600: the
 * file holds secrets or their verifiers.
 */
export async function editYamlConfig<S extends z.ZodType>(
  path: string,
  edit: (doc: Document) => void,
  template: string,
  schema: S,
): Promise<void> {
  const text = existsSync(path) ? await readFile(path, 'utf8') : template;
  const doc = parseDocument(text);
  // The yaml library's messages quote the offending line, which may be `password: …`: position only.
  if (doc.errors.length > 0) throw new CamgateError('CAMGATE_CONFIG', describeYamlError(path, doc.errors[0]!));
  edit(doc);
  validateConfig(schema, doc.toJS() ?? {}, path);
  await writeAtomically(path, doc.toString());
}

/** Writes `text` to a new 0600 file beside `path`, flushes it, and renames it over `path`. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // 'wx': never follow or reuse a file someone placed there; the mode applies at creation.
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Warns loudly when a configuration that holds secrets (a gateway secret,
 * camera passwords, the hub's SCRAM verifiers — enough to impersonate the hub
 * to its gateways) can be read by group or others. A warning, not a refusal:
 * a config managed by a group (e.g. root:camgate 0640) is a deliberate choice.
 */
export async function warnIfReadableByOthers(path: string, logger: Logger): Promise<boolean> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    return false;
  }
  if ((mode & 0o077) === 0) return false;
  const who = mode & 0o007 ? 'every user of this machine' : 'its group';
  logger.warn(`WARNING: ${path} holds secrets and can be read by ${who}; run: chmod 600 ${path}`, {
    mode: mode.toString(8).padStart(3, '0'),
  });
  return true;
}

/** Appends `item` to the sequence at `key`, creating the sequence when absent. */
export function appendTo(doc: Document, key: string, item: unknown): void {
  if (!doc.has(key) || doc.get(key) === null) doc.set(key, doc.createNode([]));
  doc.addIn([key], doc.createNode(item));
  // `gateways: []` in the template is a flow sequence; entries read better as a block list.
  const seq = doc.get(key, true);
  if (isSeq(seq)) seq.flow = false;
}

/** The ids already present in the sequence at `key`. */
export function idsIn(doc: Document, key: string): Set<string> {
  const list = doc.toJS()?.[key];
  return new Set(Array.isArray(list) ? list.map((x: { id?: unknown }) => String(x?.id)) : []);
}
