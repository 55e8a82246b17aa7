import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExposureScanner } from '../../src/exposure/scanner.js';
import { TargetPolicy } from '../../src/exposure/targets.js';
import { createLogger, hasCode, memorySink } from '../../src/util/index.js';
import { closedPort, startHttpServer, startRtspServer } from '@camgate/test-helpers';

describe('ExposureScanner', () => {
  it('finds the same open ports with the nmap and the builtin engine', async (t) => {
    const rtsp = await startRtspServer({ mode: 'digest', user: 'u', pass: 'p', realm: 'cam' });
    const web = await startHttpServer({ title: 'Login' });
    t.after(() => Promise.all([rtsp.close(), web.close()]));
    const closed = await closedPort();
    const scanner = await ExposureScanner.create({
      policy: new TargetPolicy({ allow: ['127.0.0.1'] }),
      portProtocols: { [rtsp.port]: 'rtsp', [web.port]: 'http' },
    });
    assert.equal(scanner.engine, 'nmap');
    for (const engine of ['nmap', 'builtin'] as const) {
      const r = await scanner.scan('127.0.0.1', [closed, web.port, rtsp.port], { engine });
      assert.equal(r.engine, engine);
      assert.deepEqual(
        r.open.map((e) => [e.port, e.protocol]),
        [
          [rtsp.port, 'rtsp'],
          [web.port, 'http'],
        ].sort((a, b) => (a[0] as number) - (b[0] as number)),
      );
      assert.equal(r.open.find((e) => e.port === rtsp.port)?.facts?.realm, 'cam');
      assert.equal(r.open.find((e) => e.port === web.port)?.facts?.title, 'Login');
      assert.ok(r.startedAt <= r.finishedAt);
    }
  });

  it('falls back to the builtin probes with one notice line when nmap is missing', async () => {
    const sink = memorySink();
    const scanner = await ExposureScanner.create({
      policy: new TargetPolicy({ allow: ['127.0.0.1'] }),
      // '' = no nmap on this machine (the same path as findNmap() finding none).
      nmapPath: '',
      logger: createLogger('test', sink),
    });
    assert.equal(scanner.engine, 'builtin');
    assert.deepEqual(
      sink.records.map((r) => r.msg),
      ['nmap not found; exposure scans use the built-in probes'],
    );
    await assert.rejects(scanner.scan('127.0.0.1', [1], { engine: 'nmap' }), (e) =>
      hasCode(e, 'CAMGATE_EXPOSURE_NMAP_MISSING'),
    );
    await assert.rejects(ExposureScanner.create({ policy: new TargetPolicy(), engine: 'nmap', nmapPath: '' }), (e) =>
      hasCode(e, 'CAMGATE_EXPOSURE_NMAP_MISSING'),
    );
  });

  it('refuses targets outside the policy before sending anything', async () => {
    const scanner = await ExposureScanner.create({
      policy: new TargetPolicy({ allow: ['127.0.0.1'] }),
      engine: 'builtin',
    });
    await assert.rejects(scanner.scan('127.0.0.2', [80]), (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_REFUSED'));
    await assert.rejects(scanner.scan('$(id)', [80]), (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_INVALID'));
    await assert.rejects(scanner.scan('127.0.0.1', []), RangeError);
  });

  it('aborts a scan with CAMGATE_EXPOSURE_ABORTED', async () => {
    const scanner = await ExposureScanner.create({
      policy: new TargetPolicy({ allow: ['127.0.0.1'] }),
      engine: 'builtin',
    });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(scanner.scan('127.0.0.1', [await closedPort()], { signal: ac.signal }), (e) =>
      hasCode(e, 'CAMGATE_EXPOSURE_ABORTED'),
    );
  });
});
