import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { flagId, FlagStore, type Flag } from '../../src/alerts/index.js';
import { CanaryReporter, LanCanary } from '../../src/exposure/index.js';
import { CompromiseWatch, FlagService } from '../../src/gateway/index.js';
import { watch } from '../helpers/alerts.js';
import { until, within } from '@camgate/test-helpers';

const GATEWAY_ID = 'home';
const CAMERA_PASSWORD = 'cam-Secret-4Kq9';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-compromise-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Connects to the canary from `localAddress` (a loopback address standing in for a LAN device) and sends `data`. */
async function scan(port: number, localAddress: string, data: string): Promise<void> {
  const s = connect({ host: '127.0.0.1', port, localAddress });
  s.on('error', () => undefined);
  s.resume(); // read the prompt, so the canary's close is seen
  await within(new Promise((r) => s.once('connect', r)), 10_000, 'the canary to accept');
  s.end(data);
  await within(new Promise((r) => s.once('close', r)), 10_000, 'the canary to close');
}

describe('CompromiseWatch', () => {
  it('turns a canary touch into a compromise flag naming the camera, published on MQTT and Home Assistant', async (t) => {
    const dir = await tempDir(t);
    const socket = join(dir, 'canary.sock');
    const svc = await FlagService.create({
      gatewayId: GATEWAY_ID,
      // 127.0.0.2 stands in for the camera's LAN address; its password must never reach a flag or MQTT.
      cameras: [
        { id: 'porch', name: 'Porch', url: 'rtsp://127.0.0.2:554/live', username: 'admin', password: CAMERA_PASSWORD },
      ],
      audit: false,
      mqtt: { embedded: true, homeAssistant: true },
      compromise: { canarySocket: socket },
    });
    t.after(() => svc.close());
    assert.equal(svc.compromise?.canarySocket, socket);
    const watcher = await watch(svc.bridge!.brokerUrl, ['camgate/#', 'homeassistant/#']);
    t.after(() => watcher.close());
    const canary = await LanCanary.start({
      address: '127.0.0.1',
      allowLoopback: true,
      ports: [0, 0],
      readTimeoutMs: 200,
    });
    t.after(() => canary.close());
    const reporter = new CanaryReporter({ path: socket, reconnectMs: 50 });
    t.after(() => reporter.close());
    canary.on('attempt', (a) => reporter.send(a));

    const started = Date.now();
    await scan(canary.ports[0]!, '127.0.0.2', '\u00ff\u00fbroot\r\nxc3511\r\n');
    const id = flagId('compromise', GATEWAY_ID, 'porch');
    const payload = await within(
      watcher.waitFor(`camgate/${GATEWAY_ID}/flags/${id}`, (p) => (JSON.parse(p) as Flag).state === 'raised'),
      20_000,
      'the compromise flag on MQTT',
    );
    const flag = JSON.parse(payload) as Flag;
    assert.equal(flag.kind, 'compromise');
    assert.equal(flag.cameraId, 'porch');
    assert.equal(flag.source, 'gateway');
    assert.equal(flag.evidence[0]?.host, '127.0.0.2');
    assert.equal(flag.evidence[0]?.port, canary.ports[0]);
    assert.equal(flag.evidence[0]?.protocol, 'canary');
    assert.match(flag.evidence[0]?.banner ?? '', /^\\xc3\\xbf\\xc3\\xbbroot\\r\\nxc3511/);
    assert.match(flag.advice, /The camera "Porch" is behaving like a botnet/);
    for (const words of ['Isolate', 'Factory-reset', 'firmware', 'password', 'port forwards']) {
      assert.ok(flag.advice.includes(words), `advice mentions ${words}`);
    }
    const exposure = await within(
      watcher.waitFor(`camgate/${GATEWAY_ID}/porch/exposure`, (p) =>
        (JSON.parse(p) as { flags: string[] }).flags.includes(id),
      ),
      20_000,
      'the camera summary',
    );
    assert.equal((JSON.parse(exposure) as { state: string }).state, 'at-risk');
    // Home Assistant: the camera's binary sensor (device_class problem) reads that summary.
    // The discovery config is published beside the summary, not before it: wait for it too.
    const disco = await until(
      () =>
        [...watcher.last.entries()].find(
          ([topic]) => topic.startsWith('homeassistant/binary_sensor/') && topic.includes('porch'),
        ),
      (entry) => entry !== undefined,
      20_000,
      "the camera's Home Assistant discovery config",
    );
    assert.equal((JSON.parse(disco![1]) as { device_class: string }).device_class, 'problem');
    t.diagnostic(`canary touch to raised flag on MQTT: ${Date.now() - started} ms`);
    for (const m of watcher.all) assert.ok(!m.payload.includes(CAMERA_PASSWORD), `no camera password on ${m.topic}`);

    // A second touch within refreshMs refreshes the evidence without a second alert.
    const transitions: string[] = [];
    svc.on('transition', (tr) => transitions.push(tr.to));
    await scan(canary.ports[1]!, '127.0.0.2', 'admin\r\n');
    await until(
      () => svc.store.list({ kind: 'compromise' })[0]?.evidence.length,
      (n) => n === 2,
      20_000,
      'two pieces of evidence',
    );
    assert.deepEqual(transitions, []);
  });

  it('names a device that is not a camera by its address', async (t) => {
    const store = await FlagStore.open();
    t.after(() => store.close());
    const w = await CompromiseWatch.start({
      gatewayId: GATEWAY_ID,
      cameras: [{ id: 'porch', host: '10.0.0.5' }],
      store,
    });
    t.after(() => w.close());
    await w.report('::ffff:10.0.0.77', {
      host: '10.0.0.77',
      port: 23,
      protocol: 'canary',
      at: new Date().toISOString(),
    });
    const [f] = store.list({ kind: 'compromise' });
    assert.equal(f?.cameraId, undefined);
    assert.equal(f?.key, 'device-10.0.0.77');
    assert.equal(f?.id, flagId('compromise', GATEWAY_ID, undefined, 'device-10.0.0.77'));
    assert.match(f!.advice, /The device at 10\.0\.0\.77 on your home network/);
  });

  it('flags a camera from the connection table (conntrack reader) and clears it after the quiet time', async (t) => {
    const dir = await tempDir(t);
    // A stand-in for conntrack-tools printing a table recorded while 10.233.1.2 scanned (fixtures/conntrack).
    const bin = join(dir, 'conntrack');
    const table = new URL('../fixtures/conntrack/scanner.xml', import.meta.url).pathname;
    const quiet = join(dir, 'quiet');
    await writeFile(bin, `#!/bin/sh\nif [ -e ${quiet} ]; then echo '<conntrack></conntrack>'; else cat ${table}; fi\n`);
    await chmod(bin, 0o755);
    const store = await FlagStore.open({ clearAfterCleanScans: 1 });
    t.after(() => store.close());
    const w = await CompromiseWatch.start({
      gatewayId: GATEWAY_ID,
      cameras: [{ id: 'garden', name: 'Garden', host: '10.233.1.2' }],
      store,
      conntrack: { binary: bin, intervalMs: 500 },
      quietMs: 1500,
    });
    t.after(() => w.close());
    const f = await until(
      () => store.list({ kind: 'compromise', state: 'raised' })[0],
      (x) => x !== undefined,
      20_000,
      'the flag',
    );
    assert.equal(f!.cameraId, 'garden');
    assert.equal(f!.evidence[0]?.protocol, 'conntrack');
    assert.match(f!.evidence[0]?.detail ?? '', /40 different addresses on scanner ports 23, 2323/);
    await writeFile(quiet, '');
    await until(
      () => store.list({ kind: 'compromise', state: 'cleared' }).length,
      (n) => n === 1,
      30_000,
      'the flag to clear',
    );
  });

  it('reports a table it cannot read as an error event, once per distinct failure', async (t) => {
    const store = await FlagStore.open();
    t.after(() => store.close());
    const w = await CompromiseWatch.start({
      gatewayId: GATEWAY_ID,
      cameras: [],
      store,
      conntrack: { binary: '/nonexistent/conntrack', intervalMs: 500 },
    });
    t.after(() => w.close());
    const errors: Error[] = [];
    w.on('error', (e) => errors.push(e));
    await until(
      () => errors.length,
      (n) => n >= 1,
      10_000,
      'the error',
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error & { code?: string }).code, 'CAMGATE_CONNTRACK');
  });

  it('names bad options', async () => {
    const store = await FlagStore.open();
    await assert.rejects(CompromiseWatch.start({ gatewayId: '', cameras: [], store }), { name: 'TypeError' });
    await assert.rejects(CompromiseWatch.start({ gatewayId: 'g', cameras: [], store, quietMs: 5 }), /quietMs must be/);
    await store.close();
  });
});
