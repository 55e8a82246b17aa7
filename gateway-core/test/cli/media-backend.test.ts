import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveMediaBackendUrl } from '../../src/cli/media-backend.js';
import { loadOrCreateEngineToken } from '../../src/engine/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';

describe('resolveMediaBackendUrl (camgate gateway finds the engine token)', () => {
  it('adds the token from mediaBackend.tokenFile, or from the default file, and dials KMS as written without one', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'camgate-mb-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const logs = memorySink();
    const log = createLogger('gw', logs);
    const url = 'ws://127.0.0.1:8888/kurento';
    const { token } = await loadOrCreateEngineToken(join(dir, 'tok'));

    assert.deepEqual(await resolveMediaBackendUrl({ url, tokenFile: join(dir, 'tok') }, log), {
      url: `${url}?token=${token}`,
      token,
    });
    // The default path lives under XDG_CONFIG_HOME (as `camgate engine` writes it).
    const saved = process.env.XDG_CONFIG_HOME;
    t.after(() => {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    });
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
    assert.deepEqual(await resolveMediaBackendUrl({ url }, log), { url, token: undefined }, 'no file: KMS');
    const def = await loadOrCreateEngineToken(join(dir, 'xdg', 'camgate', 'engine-token'));
    assert.deepEqual(await resolveMediaBackendUrl({ url }, log), {
      url: `${url}?token=${def.token}`,
      token: def.token,
    });
    // A URL that already names a token is used as written.
    assert.deepEqual(await resolveMediaBackendUrl({ url: `${url}?token=${'x'.repeat(20)}` }, log), {
      url: `${url}?token=${'x'.repeat(20)}`,
      token: undefined,
    });
    // A named file that does not exist is a configuration error, not a silent fallback.
    await assert.rejects(resolveMediaBackendUrl({ url, tokenFile: join(dir, 'missing') }, log), {
      code: 'CAMGATE_ENGINE_TOKEN',
    });
    assert.ok(!JSON.stringify(logs.records).includes(token));
  });
});
