import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultEngineTokenFile, loadOrCreateEngineToken, readEngineToken } from '../../src/engine/index.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('engine token file', () => {
  it('is created 0600 (directory 0700) on first use and read back afterwards', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'sub', 'engine-token');
    const first = await loadOrCreateEngineToken(path);
    assert.equal(first.created, true);
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'sub'))).mode & 0o777, 0o700);
    assert.equal((await readFile(path, 'utf8')).trim(), first.token);
    const second = await loadOrCreateEngineToken(path);
    assert.deepEqual(second, { token: first.token, created: false });
    assert.equal(await readEngineToken(path), first.token);
  });

  it('reads nothing when there is no file, and refuses a readable or malformed one without echoing it', async (t) => {
    const dir = await tempDir(t);
    assert.equal(await readEngineToken(join(dir, 'none')), undefined);
    const path = join(dir, 'engine-token');
    await writeFile(path, 'Readable-Token-1234567890\n', { mode: 0o644 });
    await chmod(path, 0o644);
    await assert.rejects(readEngineToken(path), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CAMGATE_ENGINE_TOKEN');
      assert.match(err.message, /readable by group or others \(mode 644\); run: chmod 600/);
      assert.ok(!err.message.includes('Readable-Token'));
      return true;
    });
    await chmod(path, 0o600);
    await writeFile(path, 'not a token: has spaces and Secret-Value\n');
    await assert.rejects(readEngineToken(path), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CAMGATE_ENGINE_TOKEN');
      assert.ok(!err.message.includes('Secret-Value'));
      return true;
    });
  });

  it('defaults under XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(defaultEngineTokenFile({ XDG_CONFIG_HOME: '/x/cfg' }), '/x/cfg/camgate/engine-token');
    assert.match(defaultEngineTokenFile({}), /\/\.config\/camgate\/engine-token$/);
  });
});
