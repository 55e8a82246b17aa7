import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createDefaultMediaPlane } from '../../src/engine/default-media.js';
import { createLogger, memorySink } from '../../src/util/index.js';

const URI = 'rtsp://admin:pw-Secret-9@127.0.0.1:9/stream';
const logger = createLogger('media', memorySink());

describe('the default media plane, loaded by the first create (issue 17)', () => {
  it('answers CAMGATE_ENGINE_STATE before ready(), and pulls after it', async () => {
    const media = createDefaultMediaPlane({ logger });
    assert.throws(() => media.sources.acquire(URI), { code: 'CAMGATE_ENGINE_STATE' });
    assert.throws(() => media.createPeer({ iceServers: [] }), { code: 'CAMGATE_ENGINE_STATE' });
    assert.equal(media.sources.latestKeyframe?.(URI), undefined, 'no pull, no keyframe, nothing loaded');
    await Promise.all([media.ready!(), media.ready!()]); // one load for both
    // Now the real SharedRtspSources answers: its own validation, then a pull.
    assert.throws(() => media.sources.acquire('http://127.0.0.1/'), TypeError);
    const handle = media.sources.acquire(URI);
    assert.equal(handle.state, 'connecting');
    handle.release();
    await media.sources.close();
  });

  it('keeps camera profiles given before the load for the pulls after it', async () => {
    const sink = memorySink();
    const media = createDefaultMediaPlane({ logger: createLogger('media', sink) });
    media.sources.setProfiles(new Map([[URI, { cameraId: 'porch', transcode: 'auto' as const }]]));
    await media.ready!();
    const handle = media.sources.acquire(URI) as unknown as { profile?: { cameraId: string }; release(): void };
    assert.equal(handle.profile?.cameraId, 'porch');
    handle.release();
    await media.sources.close();
  });

  it('stays closed when closed before its load', async () => {
    const media = createDefaultMediaPlane({ logger });
    await media.sources.close();
    await media.ready!();
    assert.throws(() => media.sources.acquire(URI), { code: 'CAMGATE_ENGINE_CLOSED' });
  });

  it('an idle engine has not loaded the RTSP client, the media plane or werift', async () => {
    // A fresh process, so that no other test's import counts: it lists the modules loaded by a started engine.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ load(url, ctx, next) { seen.push(url); return next(url, ctx); } });
      const { KurentoEngine } = await import(${JSON.stringify(new URL('../../src/engine/index.ts', import.meta.url).href)});
      const engine = await KurentoEngine.start({ port: 0, interfaceAddress: '127.0.0.1' });
      await engine.close();
      process.stdout.write(JSON.stringify(seen));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=camgate-source', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000 },
    );
    const seen = JSON.parse(stdout) as string[];
    assert.ok(
      seen.some((u) => u.includes('/src/engine/engine.ts')),
      'the hook saw the engine load',
    );
    const eager = seen.filter((u) => /\/src\/(engine\/media|rtsp)\/|\/node_modules\/werift\//.test(u));
    assert.deepEqual(eager, [], 'loaded by the first create, not at start');
  });
});
