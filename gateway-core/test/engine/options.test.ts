import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { DEFAULT_ENGINE_OPTIONS, KurentoEngine, resolveEngineOptions } from '../../src/engine/index.js';
import { startEngine } from '../helpers/engine.js';

describe('EngineOptions', () => {
  it('defaults to KMS-like loopback ws://127.0.0.1:8888/kurento', () => {
    const o = resolveEngineOptions();
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, DEFAULT_ENGINE_OPTIONS.port);
    assert.equal(o.path, '/kurento');
    assert.equal(o.sessionGcMs, 120_000);
  });

  it('throws TypeError/RangeError naming the option, the value and what is allowed', () => {
    assert.throws(() => resolveEngineOptions({ port: 70_000 }), {
      name: 'RangeError',
      message: 'EngineOptions.port must be in [0, 65535], got 70000',
    });
    assert.throws(() => resolveEngineOptions({ sessionGcMs: 1.5 }), {
      name: 'TypeError',
      message: 'EngineOptions.sessionGcMs must be an integer, got 1.5',
    });
    assert.throws(() => resolveEngineOptions({ host: 'example.com' }), /EngineOptions\.host/);
    assert.throws(() => resolveEngineOptions({ path: 'kurento' }), /EngineOptions\.path/);
    // A bad token is refused without echoing it.
    assert.throws(
      () => resolveEngineOptions({ token: 'short-Secret' }),
      (err: Error) =>
        err instanceof TypeError && /EngineOptions\.token/.test(err.message) && !/short-Secret/.test(err.message),
    );
    assert.throws(() => resolveEngineOptions({ interfaceAddress: '::1' }), /interfaceAddress must be an IPv4/);
    assert.throws(() => resolveEngineOptions({ additionalHostAddresses: ['lan'] }), /additionalHostAddresses/);
  });

  it('rejects with CAMGATE_ENGINE_LISTEN when the port is taken', async (t) => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    await assert.rejects(KurentoEngine.start({ port }), { code: 'CAMGATE_ENGINE_LISTEN' });
  });

  it('close() is idempotent and the url names the ephemeral port (and the token; listenUrl does not)', async (t) => {
    const { engine } = await startEngine(t);
    assert.match(engine.url, /^ws:\/\/127\.0\.0\.1:\d+\/kurento\?token=[A-Za-z0-9_-]{43}$/);
    assert.equal(engine.listenUrl, engine.url.split('?')[0]);
    await Promise.all([engine.close(), engine.close()]);
    await engine.close();
  });
});
