import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { FlagStore, flagId, parseGatewayFlagMessage, type Flag, type FlagObservation } from '../../src/alerts/index.js';
import { flagForHub, HubFlagSync } from '../../src/gateway/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';

const GW = 'home-1';
const T0 = '2025-03-01T10:00:00.000Z';
const CAMERAS = [
  { id: 'porch', url: 'rtsp://192.168.1.10:554/stream', password: 'Porch-pw-77' },
  { id: 'garage', url: 'rtsp://garage-cam.lan/live', host: '192.168.1.11', password: 'abcd' },
  { id: 'attic', url: 'rtsp://[fd00::20]/s', password: 'Attic-pw-99' },
];

function flag(over: Partial<Flag>): Flag {
  const kind = over.kind ?? 'telnet-open';
  const key = over.key ?? 'port-23';
  const cameraId = 'cameraId' in over ? over.cameraId : 'porch';
  const out: Flag = {
    kind,
    gatewayId: GW,
    key,
    evidence: [],
    advice: 'advice',
    source: 'gateway',
    id: flagId(kind, GW, cameraId, key),
    state: 'raised',
    firstSeen: T0,
    lastSeen: T0,
    raisedAt: T0,
    cleanScans: 0,
    ...over,
  };
  if (cameraId === undefined) delete out.cameraId;
  else out.cameraId = cameraId;
  return out;
}

/** A stand-in for the Gateway: records what is sent, lets the test change the tunnel state. */
class FakeTunnel extends EventEmitter<{ state: [string] }> {
  tunnelState = 'connecting';
  sent: unknown[] = [];
  fail = false;
  sendControl(msg: unknown): void {
    if (this.fail) throw new Error('control send queue is full');
    this.sent.push(structuredClone(msg));
  }
  set(state: string): void {
    this.tunnelState = state;
    this.emit('state', state);
  }
}

const telnetObs = (cameraId: string, banner: string): FlagObservation => ({
  kind: 'telnet-open',
  gatewayId: GW,
  cameraId,
  key: 'port-23',
  evidence: [{ host: '192.168.1.10', port: 23, protocol: 'telnet', banner, at: T0 }],
  advice: 'Turn telnet off.',
  source: 'gateway',
});

describe('flagForHub', () => {
  it('replaces camera addresses, host names and other LAN addresses, and removes camera passwords', () => {
    const f = flag({
      evidence: [
        {
          host: '192.168.1.10',
          port: 23,
          protocol: 'telnet',
          banner: 'BusyBox on 192.168.1.10 (GARAGE-CAM.lan) pw Porch-pw-77 / abcd, gw 10.0.0.1 at 12:30:45',
          at: T0,
        },
        {
          host: '192.168.1.1',
          port: 8554,
          protocol: 'upnp',
          detail: 'TCP external *:8554 -> 192.168.1.10:554 enabled=1 description="rtsp://admin:Secret99@x/"',
          at: T0,
        },
        {
          host: 'fd00::20',
          banner: 'v6 fd00::20 fe80::1%eth0 2001:db8:0:0:0:0:0:1 ::ffff:192.168.1.10 mac 00:11:22:33:44:55',
          at: T0,
        },
      ],
      advice: 'The camera at 192.168.1.10 answers.',
    });
    const out = flagForHub(f, CAMERAS);
    assert.deepEqual(
      out.evidence.map((e) => e.host),
      ['camera porch', 'router', 'camera porch'],
    );
    assert.equal(
      out.evidence[0]!.banner,
      'BusyBox on camera porch (camera garage) pw [redacted] / [redacted], gw [LAN address] at 12:30:45',
    );
    assert.equal(
      out.evidence[1]!.detail,
      'TCP external *:8554 -> camera porch:554 enabled=1 description="rtsp://[redacted]@x/"',
    );
    assert.equal(out.evidence[2]!.banner, 'v6 camera attic [LAN address] [LAN address] camera porch mac [LAN address]');
    assert.equal(out.advice, 'The camera at camera porch answers.');
    // Identity is untouched: the hub checks the id against kind/gateway/camera/key.
    assert.equal(out.id, f.id);
    assert.equal(out.cameraId, 'porch');
    const text = JSON.stringify(out);
    for (const secret of ['192.168.', '10.0.0.1', 'fd00', 'Porch-pw-77', 'Secret99', 'garage-cam.lan'])
      assert.equal(text.toLowerCase().includes(secret.toLowerCase()), false, `${secret} left in ${text}`);
  });

  it('labels evidence of a home-wide flag "gateway", keeps the newest four items, and passes the hub check', () => {
    const evidence = Array.from({ length: 9 }, (_, i) => ({ host: 'hub', detail: `d${i}`, at: T0 }));
    const f = flag({ kind: 'secret-in-use', cameraId: undefined, key: 'tunnel', evidence });
    const out = flagForHub(f, CAMERAS);
    assert.deepEqual(
      out.evidence.map((e) => `${e.host}:${e.detail}`),
      ['gateway:d5', 'gateway:d6', 'gateway:d7', 'gateway:d8'],
    );
    assert.deepEqual(parseGatewayFlagMessage({ type: 'gateway-flag', flag: out }, GW), {
      type: 'gateway-flag',
      flag: out,
    });
  });
});

describe('HubFlagSync', () => {
  async function setup(t: import('node:test').TestContext) {
    const store = await FlagStore.open({ clearAfterCleanScans: 1 });
    t.after(() => store.close());
    const tunnel = new FakeTunnel();
    const sink = memorySink();
    const sync = new HubFlagSync({
      gatewayId: GW,
      store,
      tunnel,
      cameras: CAMERAS,
      logger: createLogger('test', sink),
    });
    t.after(() => sync.close());
    return { store, tunnel, sync, sink };
  }

  it('sends nothing while disconnected, the whole state at connect, then each change', async (t) => {
    const { store, tunnel } = await setup(t);
    const scope = { source: 'gateway' as const, gatewayId: GW, kinds: ['telnet-open' as const] };
    await store.reconcile(scope, [telnetObs('porch', 'BusyBox 192.168.1.10')]);
    assert.deepEqual(tunnel.sent, [], 'no queue grows while the tunnel is down');

    tunnel.set('connected');
    assert.equal(tunnel.sent.length, 1);
    const snap = parseGatewayFlagMessage(tunnel.sent[0], GW);
    assert.equal(snap.type, 'gateway-flags');
    const [only] = snap.type === 'gateway-flags' ? snap.flags : [];
    assert.equal(only?.state, 'raised');
    assert.equal(only?.evidence[0]?.banner, 'BusyBox camera porch');

    await store.reconcile(scope, [telnetObs('porch', 'BusyBox'), telnetObs('garage', 'x')]);
    await store.reconcile(scope, [telnetObs('garage', 'x')]);
    const kinds = tunnel.sent.slice(1).map((m) => {
      const p = parseGatewayFlagMessage(m, GW);
      return p.type === 'gateway-flag' ? `${p.flag.cameraId}:${p.flag.state}` : 'snapshot';
    });
    assert.deepEqual(kinds, ['garage:raised', 'porch:cleared']);

    // Reconnecting sends the state again (cleared flags too: the hub drops them).
    tunnel.set('reconnecting');
    tunnel.set('connected');
    const again = parseGatewayFlagMessage(tunnel.sent.at(-1), GW);
    assert.deepEqual(again.type === 'gateway-flags' && again.flags.map((f) => `${f.cameraId}:${f.state}`).sort(), [
      'garage:raised',
      'porch:cleared',
    ]);
  });

  it("never sends the hub's own flags back nor another gateway's, and survives a send that throws", async (t) => {
    const { store, tunnel, sink } = await setup(t);
    tunnel.set('connected');
    tunnel.sent = [];
    await store.apply(flag({ kind: 'exposed', cameraId: undefined, key: 'port-554', source: 'hub' }));
    // A store that mirrors another gateway's flags (Homebridge reads them over MQTT) keeps them to itself.
    await store.raise({ ...telnetObs('porch', 'b'), gatewayId: 'home-2' });
    assert.deepEqual(tunnel.sent, []);
    tunnel.set('connected');
    assert.deepEqual(tunnel.sent, [{ type: 'gateway-flags', flags: [] }]);
    tunnel.sent = [];
    tunnel.fail = true;
    await store.reconcile({ source: 'gateway', gatewayId: GW, kinds: ['telnet-open'] }, [telnetObs('porch', 'b')]);
    assert.ok(sink.records.some((r) => r.msg === 'could not send a flag to the hub'));
  });

  it('validates its options, naming the option', () => {
    const base = { gatewayId: GW, store: { on() {}, off() {}, list: () => [] }, tunnel: new FakeTunnel(), cameras: [] };
    const logger = createLogger('test', memorySink());
    assert.throws(() => new HubFlagSync({ ...base, gatewayId: '', logger } as never), /option gatewayId/);
    assert.throws(
      () => new HubFlagSync({ ...base, tunnel: {}, logger } as never),
      /option tunnel must have sendControl/,
    );
    assert.throws(() => new HubFlagSync({ ...base, cameras: 'x', logger } as never), /option cameras/);
    assert.throws(() => new HubFlagSync({ ...base, store: undefined, logger } as never), /option store/);
  });

  it('stops listening on close', async (t) => {
    const { store, tunnel, sync } = await setup(t);
    sync.close();
    sync.close();
    tunnel.set('connected');
    await store.reconcile({ source: 'gateway', gatewayId: GW, kinds: ['telnet-open'] }, [telnetObs('porch', 'b')]);
    assert.deepEqual(tunnel.sent, []);
    assert.equal(tunnel.listenerCount('state'), 0);
    assert.equal(store.listenerCount('transition'), 0);
  });
});
