import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function camgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('camgate canary', () => {
  it('--help lists the scanner ports with their sources and how to report to the gateway', async () => {
    const r = await camgate(['canary', '--help']);
    assert.equal(r.code, 0);
    for (const p of ['23 ', '2323', '5555', '7547', '37215', '52869']) assert.ok(r.stdout.includes(p), `port ${p}`);
    assert.match(r.stdout, /bot\/scanner\.c/);
    assert.match(r.stdout, /compromise\.canarySocket/);
  });

  it('refuses a public address and a name with CAMGATE_CANARY_ADDRESS, before listening on anything', async () => {
    for (const address of ['203.0.113.9', 'camera.example']) {
      const r = await camgate(['canary', '--listen', address]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /private or link-local LAN address.*\[CAMGATE_CANARY_ADDRESS\]/s);
    }
  });

  it('usage errors name the option: missing --listen, bad --ports', async () => {
    const missing = await camgate(['canary']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--listen is required/);
    const bad = await camgate(['canary', '--listen', '10.0.0.9', '--ports', '23,99999']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ports 23,99999: use a comma-separated list of TCP ports/);
  });
});
