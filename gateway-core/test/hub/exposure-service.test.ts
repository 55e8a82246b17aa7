import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { Flag } from '../../src/alerts/index.js';
import { Gateway } from '../../src/gateway/index.js';
import { ExposureService } from '../../src/hub/exposure-service.js';
import { GatewayDirectory, mintApiToken } from '../../src/hub/index.js';
import { hasCode } from '../../src/util/index.js';
import { closedPort, startRtspServer } from '@camgate/test-helpers';
import { GATEWAY_ID, GATEWAY_SECRET, startStack } from '@camgate/test-helpers';

const API = await mintApiToken();
const API_TOKEN = API.token;

/** Control messages the gateway received, and a way to wait for the next flag. */
function flagsReceived(gw: Gateway): { flags: Flag[]; next: (pred: (f: Flag) => boolean) => Promise<Flag> } {
  const flags: Flag[] = [];
  const waiters = new Set<() => void>();
  gw.on('control', (msg) => {
    const m = msg as { type?: string; flag?: Flag };
    if (m?.type === 'flag' && m.flag) flags.push(m.flag);
    for (const w of [...waiters]) w();
  });
  return {
    flags,
    next: (pred) =>
      new Promise((resolve) => {
        const check = (): void => {
          const f = flags.find(pred);
          if (f) {
            waiters.delete(check);
            resolve(f);
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

async function setup(t: import('node:test').TestContext, exposure: Record<string, unknown> = {}) {
  const rtsp = await startRtspServer({ mode: 'open' });
  t.after(() => rtsp.close());
  const closed = await closedPort();
  const stack = await startStack({
    cameras: [{ id: 'porch', name: 'Porch', url: 'rtsp://192.0.2.10/stream' }],
    hub: {
      apiTokenHashes: [API.stored],
      exposure: {
        engine: 'builtin',
        ports: [rtsp.port, closed],
        portProtocols: { [rtsp.port]: 'rtsp' },
        clearAfterCleanScans: 1,
        scanOnConnect: false,
        ...exposure,
      },
    },
  });
  t.after(() => stack.close());
  const service = stack.hub.exposure;
  assert.ok(service, 'hub.exposure exists when configured');
  return { rtsp, closed, stack, service };
}

async function post(url: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('ExposureService', () => {
  describe('POST /api/gateways/:id/scan', () => {
    it('scans the tunnel address, raises exposed with the RTSP reply, forwards it to the gateway', async (t) => {
      const { rtsp, stack, service } = await setup(t);
      const received = flagsReceived(stack.gateway);
      assert.deepEqual(service.gateways(), [GATEWAY_ID]);

      const r = await post(`${stack.hub.url}/api/gateways/${GATEWAY_ID}/scan`, API_TOKEN);
      assert.equal(r.status, 200);
      assert.equal(r.body.target, '127.0.0.1');
      assert.equal(r.body.engine, 'builtin');
      assert.deepEqual(
        (r.body.open as { port: number }[]).map((o) => o.port),
        [rtsp.port],
      );

      const [raised] = service.store.list({ state: 'raised' });
      assert.equal(raised?.kind, 'exposed');
      assert.equal(raised?.gatewayId, GATEWAY_ID);
      assert.equal(raised?.evidence[0]?.port, rtsp.port);
      assert.equal(raised?.evidence[0]?.protocol, 'rtsp');
      assert.match(raised?.evidence[0]?.banner ?? '', /TestCam/);
      assert.match(raised?.evidence[0]?.detail ?? '', /open stream/);

      const forwarded = await received.next((f) => f.id === raised?.id && f.state === 'raised');
      assert.equal(forwarded.source, 'hub');

      const view = service.exposureFor(GATEWAY_ID, 'porch');
      assert.equal(view.state, 'exposed');
      assert.deepEqual(view.flags, [raised?.id]);
      assert.deepEqual(view.lastScan?.openPorts, [rtsp.port]);
      assert.equal(view.lastScan?.target, '127.0.0.1');
    });

    it('clears the flag after the configured clean scans and forwards the clear', async (t) => {
      const { rtsp, stack, service } = await setup(t);
      const received = flagsReceived(stack.gateway);
      await service.scanNow(GATEWAY_ID);
      const [raised] = service.store.list({ state: 'raised' });
      assert.ok(raised);
      await rtsp.close();
      const r = await service.scanNow(GATEWAY_ID);
      assert.deepEqual(r.open, []);
      assert.equal(service.store.list({ state: 'raised' }).length, 0);
      const cleared = await received.next((f) => f.id === raised.id && f.state === 'cleared');
      assert.ok(cleared.clearedAt);
      assert.equal(service.exposureFor(GATEWAY_ID, 'porch').state, 'ok');
    });

    it('answers 401 without the token, 405 for GET, 404 for an unknown gateway', async (t) => {
      const { stack } = await setup(t);
      const base = `${stack.hub.url}/api/gateways`;
      assert.equal((await post(`${base}/${GATEWAY_ID}/scan`)).status, 401);
      assert.equal((await post(`${base}/${GATEWAY_ID}/scan`, 'wrong-token-aaaaaaaaaaaa')).status, 401);
      const get = await fetch(`${base}/${GATEWAY_ID}/scan`, { headers: { Authorization: `Bearer ${API_TOKEN}` } });
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      await get.body?.cancel();
      const unknown = await post(`${base}/nobody/scan`, API_TOKEN);
      assert.equal(unknown.status, 404);
    });

    it('answers 409 for a configured gateway that is offline, and stops allowing its old address', async (t) => {
      const { stack, service } = await setup(t);
      const offline = once(stack.hub, 'gateway');
      await stack.gateway.close();
      await offline;
      assert.deepEqual(service.gateways(), []);
      assert.equal(service.policy.allows('127.0.0.1'), false);
      const r = await post(`${stack.hub.url}/api/gateways/${GATEWAY_ID}/scan`, API_TOKEN);
      assert.equal(r.status, 409);
      assert.equal(r.body.code, 'CAMGATE_EXPOSURE_UNKNOWN_GATEWAY');
    });
  });

  it('answers 503 when the hub has no exposure monitor', async (t) => {
    const stack = await startStack({ hub: { apiTokenHashes: [API.stored] } });
    t.after(() => stack.close());
    assert.equal(stack.hub.exposure, undefined);
    const r = await post(`${stack.hub.url}/api/gateways/${GATEWAY_ID}/scan`, API_TOKEN);
    assert.equal(r.status, 503);
  });

  it('resends flags that changed while the gateway was away when it comes back', async (t) => {
    const { stack, service } = await setup(t);
    const offline = once(stack.hub, 'gateway');
    await stack.gateway.close();
    await offline;
    const t1 = await service.store.raise({
      kind: 'exposed',
      gatewayId: GATEWAY_ID,
      key: 'port-554',
      evidence: [{ host: '127.0.0.1', port: 554, protocol: 'rtsp', at: new Date().toISOString() }],
      advice: 'close it',
      source: 'hub',
    });
    assert.ok(t1);
    const back = new Gateway({
      hub: { url: stack.hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: GATEWAY_SECRET },
      mediaBackendUrl: stack.engine.url,
    });
    t.after(() => back.close());
    const received = flagsReceived(back);
    back.start();
    const f = await received.next((x) => x.id === t1.flag.id);
    assert.equal(f.state, 'raised');
    assert.deepEqual(service.gateways(), [GATEWAY_ID]);
  });

  it('scans the configured publicAddress instead of the tunnel address', async (t) => {
    const { stack, service } = await setup(t, {});
    // A second service on the same tunnels whose directory configures the home's public address.
    const record = { id: GATEWAY_ID, secretHash: 'unused', publicAddress: '127.0.0.2' };
    const directory = { get: (id: string) => (id === GATEWAY_ID ? record : undefined), list: () => [record] };
    const other = await ExposureService.create({
      tunnels: stack.hub.tunnels,
      directory,
      engine: 'builtin',
      ports: [await closedPort()],
      scanOnConnect: false,
    });
    t.after(() => other.close());
    const r = await other.scanNow(GATEWAY_ID);
    assert.equal(r.target, '127.0.0.2');
    assert.equal(other.policy.allows('127.0.0.1'), false);
    assert.equal(service.policy.allows('127.0.0.1'), true);
  });

  describe('options', () => {
    it('refuses a bad interval, engine or port list, naming the option', async () => {
      const base = { tunnels: { on() {}, off() {}, peers: () => [] }, directory: new GatewayDirectory() } as never;
      await assert.rejects(
        ExposureService.create({ ...(base as object), intervalMs: 10 } as never),
        (e: Error) => e instanceof RangeError && /exposure\.intervalMs/.test(e.message) && /10/.test(e.message),
      );
      await assert.rejects(
        ExposureService.create({ ...(base as object), engine: 'masscan' } as never),
        (e: Error) => e instanceof RangeError && /exposure\.engine/.test(e.message),
      );
      await assert.rejects(ExposureService.create({ ...(base as object), ports: [0] } as never), RangeError);
    });

    it('scanNow after close rejects with CAMGATE_EXPOSURE_CLOSED; close is idempotent', async () => {
      const s = await ExposureService.create({
        tunnels: { on() {}, off() {}, peers: () => [] } as never,
        directory: new GatewayDirectory(),
        engine: 'builtin',
      });
      await s.close();
      await s.close();
      await assert.rejects(s.scanNow('x'), (e: unknown) => hasCode(e, 'CAMGATE_EXPOSURE_CLOSED'));
    });
  });
});
