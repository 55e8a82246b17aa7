/**
 * The lint rule that keeps packages in their rooms (scripts/eslint-rules/no-cross-package-import.js), run through
 * ESLint with the repository's own eslint.config.js on code that is linted but never written to disk.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RULE = 'camgate/no-cross-package-import';

async function ruleMessages(code: string, file: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: repo });
  const [result] = await eslint.lintText(code, { filePath: join(repo, file) });
  assert.ok(result, 'ESLint returned a result');
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('lint: no relative import across package folders', () => {
  it('rejects an end-to-end test importing the core by a path into its src', async () => {
    const msgs = await ruleMessages(
      "import { addUser } from '../../gateway-core/src/hub/index.js';\nexport const f = addUser;\n",
      'test/e2e/rooms-fixture.test.ts',
    );
    assert.equal(msgs.length, 1, msgs.join('\n'));
    assert.match(msgs[0]!, /"\.\.\/\.\.\/gateway-core\/src\/hub\/index\.js" leaves the package test for gateway-core/);
  });

  it('rejects every form: re-export, import(), typeof import() and require()', async () => {
    const code = [
      "export { startStack } from '../../gateway-core/test/helpers/stack.js';",
      "export const a = await import('../../camera-sim/src/index.js');",
      "export type B = typeof import('../../gateway-core/src/engine/index.js');",
      "export const c = require('../../nodes/lib/core.js');",
    ].join('\n');
    const msgs = await ruleMessages(code, 'homebridge-plugin/test/rooms-fixture.test.ts');
    assert.equal(msgs.length, 4, msgs.join('\n'));
  });

  it('accepts relative imports inside the package and imports by package name', async () => {
    const code = [
      "import { startStack } from '@camgate/test-helpers';",
      "import { Hub } from '@camgate/core';",
      "import { kmsMissing } from './helpers/kms.js';",
      "import { x } from '../fixtures/x.js';",
      'export const all = [startStack, Hub, kmsMissing, x];',
    ].join('\n');
    assert.deepEqual(await ruleMessages(code, 'test/e2e/rooms-fixture.test.ts'), []);
  });

  it('holds for the whole repository as it is', async () => {
    const eslint = new ESLint({ cwd: repo });
    const results = await eslint.lintFiles([
      'gateway-core',
      'camera-sim',
      'test-helpers',
      'test',
      'homebridge-plugin',
      'nodes',
    ]);
    const hits = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === RULE).map((m) => `${r.filePath}: ${m.message}`),
    );
    assert.deepEqual(hits, []);
  });
});
