/** `camgate hub add-token`: the cgt_ID.SECRET format, what hub.yaml keeps, and id-less hashes refused with advice. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hubConfigSchema, loadConfigFile } from '../../src/config/index.js';
import { ApiTokenVerifier } from '../../src/hub/index.js';
import { hashSecret } from '../../src/tunnel/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function camgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ).stdin?.end();
  });
}

describe('camgate hub add-token', () => {
  it('prints cgt_ID.SECRET once and stores only ID:scrypt$…, which the hub accepts', async (t) => {
    const d = await mkdtemp(join(tmpdir(), 'camgate-token-'));
    t.after(() => rm(d, { recursive: true, force: true }));
    const file = join(d, 'hub.yaml');
    const r = await camgate(['hub', 'add-token', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    const token = /^(cgt_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43})$/m.exec(r.stdout)?.[1];
    assert.ok(token, r.stdout);
    const [id, secret] = token.slice(4).split('.') as [string, string];
    assert.match(r.stdout, new RegExp(`Added API token ${id} `));
    const yaml = await readFile(file, 'utf8');
    assert.equal(yaml.includes(secret), false, 'the secret is not stored');
    const cfg = await loadConfigFile(hubConfigSchema, file);
    assert.equal(cfg.apiTokens.length, 1);
    assert.ok(cfg.apiTokens[0]!.startsWith(`${id}:scrypt$`));
    assert.equal(await new ApiTokenVerifier(cfg.apiTokens).check(token), 'ok');
  });

  it('refuses a hub.yaml holding an id-less hash, naming the entry and what to do', async (t) => {
    const d = await mkdtemp(join(tmpdir(), 'camgate-token-'));
    t.after(() => rm(d, { recursive: true, force: true }));
    const file = join(d, 'hub.yaml');
    await writeFile(file, `apiTokens:\n  - "${await hashSecret('an-old-token-0123456789abcdef')}"\n`, { mode: 0o600 });
    await assert.rejects(loadConfigFile(hubConfigSchema, file), (err: Error) => {
      assert.match(err.message, /apiTokens\[?\.?0\]?: a token hash without an id/);
      assert.match(err.message, /camgate hub add-token/);
      return true;
    });
  });
});
