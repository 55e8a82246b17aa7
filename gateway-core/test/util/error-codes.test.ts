import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repo = join(pkg, '..');
const CODE = /'(CAMGATE_[A-Z0-9_]+)'/g;

/** Every `'CAMGATE_…'` literal in the source of every package. */
async function raisedCodes(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const dir of ['gateway-core/src', 'camera-sim/src', 'nodes/lib', 'nodes/nodes', 'homebridge-plugin/src']) {
    const entries = await readdir(join(repo, dir), { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (!e.isFile() || !/\.(ts|js)$/.test(e.name)) continue;
      const path = join(e.parentPath, e.name);
      for (const m of (await readFile(path, 'utf8')).matchAll(CODE)) found.set(m[1]!, path.slice(repo.length + 1));
    }
  }
  return found;
}

describe('docs/errors.md', () => {
  it('lists every error code the source raises, and no code the source no longer has', async () => {
    const doc = await readFile(join(pkg, 'docs', 'errors.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `(CAMGATE_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
    const raised = await raisedCodes();
    const missing = [...raised].filter(([c]) => !documented.has(c)).map(([c, where]) => `${c} (${where})`);
    assert.deepEqual(missing, [], 'codes raised but not documented');
    const stale = [...documented].filter((c) => !raised.has(c));
    assert.deepEqual(stale, [], 'codes documented but raised nowhere');
    assert.ok(raised.size > 50, `found only ${raised.size} codes: the scan is broken`);
  });
});
