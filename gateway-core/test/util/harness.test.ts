import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** Every script that runs node's test runner, in every workspace. */
async function testScripts(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const pkg of ['gateway-core', 'nodes', 'homebridge-plugin', 'test']) {
    const json = JSON.parse(await readFile(join(root, pkg, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const [name, cmd] of Object.entries(json.scripts))
      if (/node .*--test\b/.test(cmd)) out.push([`${pkg} ${name}`, cmd]);
  }
  return out;
}

describe('the test harness', () => {
  it('gives every test script a timeout, so a hanging test fails instead of hanging npm test', async () => {
    const scripts = await testScripts();
    assert.ok(scripts.length >= 4, `found ${scripts.length} test scripts`);
    for (const [name, cmd] of scripts) assert.match(cmd, /--test-timeout=\d+/, `${name} has no --test-timeout`);
  });

  it('fails a deliberately hanging test with a timeout message', async () => {
    const fixture = join(here, '..', 'fixtures', 'harness', 'hangs.ts');
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-timeout=1500', fixture],
        // NODE_TEST_CONTEXT would make the child report to this runner instead of running on its own.
        { cwd: join(here, '..', '..'), timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
    assert.notEqual(code, 0, 'the run must fail');
    assert.match(out, /test timed out after 1500ms/);
  });
});
