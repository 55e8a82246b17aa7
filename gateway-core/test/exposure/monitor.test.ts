import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagStore } from '../../src/alerts/index.js';
import { ExposureMonitor } from '../../src/exposure/monitor.js';
import { ExposureScanner } from '../../src/exposure/scanner.js';
import { TargetPolicy } from '../../src/exposure/targets.js';
import { hasCode } from '../../src/util/index.js';
import { closedPort, startRtspServer, startTelnetServer } from '@camgate/test-helpers';

async function setup(
  t: import('node:test').TestContext,
  engine: 'builtin' | 'nmap' = 'builtin',
  portProtocols: Record<number, 'rtsp' | 'telnet'> = {},
) {
  const flags = await FlagStore.open({ clearAfterCleanScans: 2 });
  const scanner = await ExposureScanner.create({
    policy: new TargetPolicy({ allow: ['127.0.0.1'] }),
    engine,
    portProtocols,
  });
  const monitor = new ExposureMonitor({ scanner, flags });
  t.after(async () => {
    await monitor.close();
    await flags.close();
  });
  return { flags, scanner, monitor };
}

describe('ExposureMonitor', () => {
  describe('#scanNow', () => {
    it('raises an exposed flag for the camera that owns the port, then clears it after 2 clean scans', async (t) => {
      const rtsp = await startRtspServer({ mode: 'open' });
      t.after(() => rtsp.close());
      const { flags, monitor } = await setup(t, 'builtin', { [rtsp.port]: 'rtsp' });
      const closed = await closedPort();
      monitor.add({
        gatewayId: 'gw1',
        target: '127.0.0.1',
        ports: [rtsp.port, closed],
        cameras: [{ id: 'cam1', name: 'Porch', ports: [rtsp.port] }, { id: 'cam2' }],
      });
      const events: unknown[] = [];
      monitor.on('scan', (e) => events.push(e));

      const r1 = await monitor.scanNow('gw1');
      assert.equal(r1.engine, 'builtin');
      assert.deepEqual(
        r1.open.map((e) => e.port),
        [rtsp.port],
      );
      let raised = flags.list({ state: 'raised' });
      assert.equal(raised.length, 1);
      assert.equal(raised[0]?.kind, 'exposed');
      assert.equal(raised[0]?.cameraId, 'cam1');
      assert.equal(raised[0]?.source, 'hub');
      assert.equal(raised[0]?.evidence[0]?.port, rtsp.port);
      assert.equal(raised[0]?.evidence[0]?.protocol, 'rtsp');
      assert.match(raised[0]?.evidence[0]?.detail ?? '', /open stream/);
      assert.match(raised[0]?.advice ?? '', /Porch/);

      await rtsp.close();
      await monitor.scanNow('gw1');
      raised = flags.list({ state: 'raised' });
      assert.equal(raised.length, 1, 'one clean scan is not enough to clear');
      assert.equal(raised[0]?.cleanScans, 1);
      await monitor.scanNow('gw1');
      assert.equal(flags.list({ state: 'raised' }).length, 0);
      assert.deepEqual(
        flags.history().map((h) => `${h.from}->${h.to}`),
        ['clear->raised', 'raised->cleared'],
      );
      assert.equal(events.length, 3);
    });

    it('never runs two scans of one gateway at once', async (t) => {
      let calls = 0;
      const { flags } = await setup(t);
      const m2 = new ExposureMonitor({
        scanner: {
          scan: async (target, ports) => {
            calls++;
            await new Promise((r) => setImmediate(r));
            const at = new Date().toISOString();
            return { target, engine: 'builtin', startedAt: at, finishedAt: at, ports: [...ports], open: [] };
          },
        },
        flags,
      });
      t.after(() => m2.close());
      m2.add({ gatewayId: 'g', target: '127.0.0.1', ports: [1], cameras: [] });
      const [a, b] = [m2.scanNow('g'), m2.scanNow('g')];
      assert.equal(a, b);
      await a;
      await m2.scanNow('g');
      assert.equal(calls, 2);
    });

    it('rejects a target outside the policy and reconciles nothing', async (t) => {
      const { flags, monitor } = await setup(t);
      monitor.add({ gatewayId: 'gw', target: '127.0.0.9', ports: [80], cameras: [] });
      await assert.rejects(monitor.scanNow('gw'), (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_REFUSED'));
      await assert.rejects(monitor.scanNow('nope'), (e) => hasCode(e, 'CAMGATE_EXPOSURE_UNKNOWN_GATEWAY'));
      assert.equal(flags.history().length, 0);
    });

    it('uses nmap for discovery and the probes for evidence', async (t) => {
      const telnet = await startTelnetServer();
      t.after(() => telnet.close());
      const { flags, monitor } = await setup(t, 'nmap', { [telnet.port]: 'telnet' });
      monitor.add({ gatewayId: 'gw', target: '127.0.0.1', ports: [telnet.port, await closedPort()], cameras: [] });
      const r = await monitor.scanNow('gw');
      assert.equal(r.engine, 'nmap');
      assert.match(r.nmapVersion ?? '', /^\d+\.\d+/);
      assert.equal(r.open.length, 1);
      assert.equal(r.open[0]?.facts?.nmapState, 'open');
      assert.equal(r.open[0]?.protocol, 'telnet');
      assert.equal(r.open[0]?.detail, 'login prompt');
      const [flag] = flags.list({ state: 'raised' });
      assert.equal(flag?.cameraId, undefined, 'no camera claims the port: a gateway-level flag');
      assert.equal(flag?.key, `port-${telnet.port}`);
    });
  });

  describe('options and lifecycle', () => {
    it('validates options and gateways loudly', async (t) => {
      const { scanner, flags, monitor } = await setup(t);
      assert.throws(
        () => new ExposureMonitor({ scanner, flags, intervalMs: 5 }),
        /intervalMs must be an integer of at least 1000, got 5/,
      );
      assert.throws(() => new ExposureMonitor({ scanner, flags, jitter: 2 }), RangeError);
      assert.throws(() => monitor.add({ gatewayId: '', target: '127.0.0.1', cameras: [] }), TypeError);
      assert.throws(
        () => monitor.add({ gatewayId: 'g', target: '-oN x', cameras: [] }),
        (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_INVALID'),
      );
    });
    it('close() is idempotent and later calls are refused', async (t) => {
      const { monitor } = await setup(t);
      monitor.add({ gatewayId: 'g', target: '127.0.0.1', cameras: [] });
      monitor.start();
      await monitor.close();
      await monitor.close();
      await assert.rejects(monitor.scanNow('g'), (e) => hasCode(e, 'CAMGATE_EXPOSURE_CLOSED'));
      assert.deepEqual(monitor.gateways(), []);
    });
  });
});
