import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isSeq, parseDocument, type Document } from 'yaml';
import { CamgateError } from '../util/index.js';

/**
 * Edits a YAML configuration in place, keeping the user's comments and
 * layout (yaml's Document API), and writes it atomically with mode 0600:
 * the file holds secrets or their hashes.
 */
export async function editYamlConfig(path: string, edit: (doc: Document) => void, template: string): Promise<void> {
  const text = existsSync(path) ? await readFile(path, 'utf8') : template;
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new CamgateError('CAMGATE_CONFIG', `${path} is not valid YAML: ${doc.errors[0]!.message}`);
  }
  edit(doc);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, doc.toString(), { mode: 0o600 });
  await rename(tmp, path);
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
