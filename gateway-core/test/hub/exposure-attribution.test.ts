import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { ExposureResponder, type Gateway } from '../../src/gateway/index.js';
import { monitoredCameras } from '../../src/hub/exposure-gateway.js';
import { parseNeighbours } from '../../src/exposure/index.js';
import { closedPort, startRtspServer } from '@camgate/test-helpers';
import { GATEWAY_ID, startStack } from '@camgate/test-helpers';

const CAMERA_PASSWORD = 'cam-secret-Qx81Lm';

/** The hub marks a gateway online before the gateway has read the welcome: announces sent earlier wait for the next hello. */
async function connected(gw: Gateway): Promise<void> {
  while (gw.tunnelState !== 'connected') await once(gw, 'state');
}

async function setup(t: import('node:test').TestContext, opts: { responder: boolean }) {
  // The camera, as the LAN sees it and (through the "forward": the same loopback port) as the hub sees it.
  const cam = await startRtspServer({ mode: 'digest', user: 'u', pass: CAMERA_PASSWORD, realm: 'Porch cam 7' });
  const other = await startRtspServer({ mode: 'digest', user: 'u', pass: CAMERA_PASSWORD, realm: 'Garage cam' });
  t.after(() => Promise.all([cam.close(), other.close()]));
  const stack = await startStack({
    cameras: [
      {
        id: 'porch',
        name: 'Porch',
        url: `rtsp://127.0.0.1:${cam.port}/live`,
        username: 'u',
        password: CAMERA_PASSWORD,
      },
      // Another host on the LAN (nothing answers on 127.0.0.2); its service port is announced and scanned.
      { id: 'garage', name: 'Garage', url: `rtsp://127.0.0.2:${other.port}/live`, ports: [other.port] },
    ],
    hub: {
      exposure: {
        engine: 'builtin',
        ports: [cam.port, await closedPort()],
        portProtocols: { [cam.port]: 'rtsp' },
        clearAfterCleanScans: 1,
        scanOnConnect: false,
      },
    },
  });
  t.after(() => stack.close());
  await connected(stack.gateway);
  let responder: ExposureResponder | undefined;
  if (opts.responder) {
    responder = new ExposureResponder({
      gateway: stack.gateway,
      cameras: [...stack.gateway.cameras.list()],
      upnp: false,
      ipv6: false,
    });
    const announced = once(stack.hub.tunnels.peer(GATEWAY_ID)!, 'announce');
    responder.start();
    await announced;
    t.after(() => responder?.close());
  }
  return { cam, other, stack, service: stack.hub.exposure!, responder };
}

describe('exposure attribution (hub <-> gateway over the tunnel)', () => {
  it('names the camera the gateway matched, with the method in the evidence; the hub learns no LAN secret', async (t) => {
    const { cam, other, stack, service, responder } = await setup(t, { responder: true });
    const answered = once(responder!, 'attribution');
    const peer = stack.hub.tunnels.peer(GATEWAY_ID)!;
    const received: unknown[] = [];
    peer.on('control', (m) => received.push(m));
    const r = await service.scanNow(GATEWAY_ID);
    // The garage camera's own service port is scanned too (announced with its id).
    assert.ok(r.ports.includes(other.port), `scanned ${r.ports.join(',')}`);
    const [{ matches }] = (await answered) as [{ matches: { cameraId: string }[] }];
    assert.deepEqual(
      matches.map((m) => m.cameraId),
      ['porch'],
    );
    const raised = service.store.list({ state: 'raised' });
    const porch = raised.find((f) => f.evidence[0]?.port === cam.port);
    assert.equal(porch?.cameraId, 'porch');
    assert.ok(porch?.id.startsWith('exposed.porch.'), porch?.id);
    assert.match(porch?.evidence[1]?.detail ?? '', /matched by the gateway \(realm\+server-header\)/);
    // A plain TCP answer cannot be matched by probes: the camera whose service port it is gets it, and says so.
    const garage = raised.find((f) => f.evidence[0]?.port === other.port);
    assert.equal(garage?.cameraId, 'garage');
    assert.match(garage?.evidence[1]?.detail ?? '', /one of its configured service ports/);
    // Everything the hub was told (control messages and the announce): no camera password, URL or LAN address.
    const told = JSON.stringify([received, peer.announce]);
    assert.ok(told.includes('exposure-attribution'));
    for (const secret of [CAMERA_PASSWORD, '/live', '127.0.0.2'])
      assert.ok(!told.includes(secret), `${secret} reached the hub: ${told}`);
  });

  it('keeps the flag home-wide when the gateway does not answer attribution (and does not wait for it)', async (t) => {
    const { cam, service } = await setup(t, { responder: false });
    await service.scanNow(GATEWAY_ID);
    const f = service.store.list({ state: 'raised' }).find((x) => x.evidence[0]?.port === cam.port);
    assert.ok(f);
    assert.equal(f.cameraId, undefined);
    assert.ok(f.id.startsWith('exposed.gateway.'), f.id);
  });

  it('allows exactly the announced global IPv6 addresses, only while the gateway is online', async (t) => {
    const { stack, service } = await setup(t, { responder: false });
    const responder = new ExposureResponder({
      gateway: stack.gateway,
      cameras: [
        { id: 'porch', name: 'Porch', url: 'rtsp://10.9.0.10/live' },
        { id: 'garage', name: 'Garage', url: 'rtsp://10.9.0.11/live' },
      ],
      upnp: false,
      readNeighbours: async () =>
        parseNeighbours(
          [
            '10.9.0.10 dev e0 lladdr 02:00:00:00:00:0a REACHABLE',
            '2001:db8:1::10 dev e0 lladdr 02:00:00:00:00:0a STALE',
            'fd00::10 dev e0 lladdr 02:00:00:00:00:0a STALE',
          ].join('\n'),
        ),
    });
    t.after(() => responder.close());
    const peer = stack.hub.tunnels.peer(GATEWAY_ID)!;
    const announced = once(peer, 'announce');
    const learned = once(responder, 'addresses');
    responder.start();
    await learned;
    await announced;
    const cams = monitoredCameras(peer.announce);
    assert.deepEqual(cams.find((c) => c.id === 'porch')?.addresses, ['2001:db8:1::10']);
    assert.equal(service.policy.allows('2001:db8:1::10'), true);
    assert.equal(service.policy.allows('fd00::10'), false);
    assert.equal(service.policy.allows('2001:db8:1::11'), false);
    const offline = once(stack.hub, 'gateway');
    await stack.gateway.close();
    await offline;
    assert.equal(service.policy.allows('2001:db8:1::10'), false);
  });
});

describe('monitoredCameras', () => {
  it('keeps valid service ports and global IPv6 addresses only, count-limited', () => {
    const many = Array.from({ length: 10 }, (_, i) => `2001:db8::${i + 1}`);
    const cams = monitoredCameras({
      cameras: [
        { id: 'a', name: 'A', ports: [554, 0, 70000, 'x', 8554], ipv6: ['::1', 'fe80::1', 'fd00::1', '2001:db8::a'] },
        { id: 'b', name: 'B', ipv6: many },
        { id: 'c', name: 'C', ipv6: '2001:db8::c' },
        { id: 'bad id with spaces and far too long'.repeat(3), name: 'X' },
      ],
    });
    assert.deepEqual(cams, [
      { id: 'a', name: 'A', ports: [554, 8554], addresses: ['2001:db8::a'] },
      { id: 'b', name: 'B', addresses: many.slice(0, 4) },
      { id: 'c', name: 'C' },
    ]);
    assert.equal(
      monitoredCameras({ cameras: [{ id: 'a', name: 'A', ipv6: ['2001:db8::a'] }] }, { allowIpv6: false })[0]
        ?.addresses,
      undefined,
    );
  });
});
