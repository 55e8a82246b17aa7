import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { flagId, type Flag, type FlagObservation } from '../../src/alerts/index.js';
import { FlagService } from '../../src/gateway/index.js';
import { GatewayFlagBoard } from '../../src/hub/index.js';
import { until, within } from '../helpers/bounded.js';
import { GATEWAY_ID, startStack } from '../helpers/stack.js';

const T0 = '2025-03-01T10:00:00.000Z';
const WAIT = 20_000; // ms; every wait is bounded
const CAMERAS = [{ id: 'porch', name: 'Porch', url: 'rtsp://192.168.1.10/stream', password: 'Porch-pw-77' }];

function gatewayFlag(over: Partial<Flag> = {}): Flag {
  const kind = over.kind ?? 'telnet-open';
  const gatewayId = over.gatewayId ?? GATEWAY_ID;
  const key = over.key ?? 'port-23';
  return {
    kind,
    gatewayId,
    cameraId: 'porch',
    key,
    evidence: [{ host: 'camera porch', port: 23, protocol: 'telnet', at: T0 }],
    advice: 'Turn telnet off.',
    source: 'gateway',
    id: flagId(kind, gatewayId, 'porch', key),
    state: 'raised',
    firstSeen: T0,
    lastSeen: T0,
    raisedAt: T0,
    cleanScans: 0,
    ...over,
  };
}

const telnet = (cameraId: string): FlagObservation => ({
  kind: 'telnet-open',
  gatewayId: GATEWAY_ID,
  cameraId,
  key: 'port-23',
  evidence: [{ host: '192.168.1.10', port: 23, protocol: 'telnet', banner: 'BusyBox on 192.168.1.10', at: T0 }],
  advice: 'Turn telnet off.',
  source: 'gateway',
});
const SCOPE = { source: 'gateway' as const, gatewayId: GATEWAY_ID, kinds: ['telnet-open' as const] };

async function setup(t: import('node:test').TestContext) {
  const stack = await startStack({ cameras: CAMERAS });
  t.after(() => stack.close());
  const flags = await FlagService.create({
    gatewayId: GATEWAY_ID,
    cameras: CAMERAS,
    audit: false,
    control: stack.gateway,
  });
  t.after(() => flags.close());
  const board = stack.hub.gatewayFlags;
  // The gateway sends its state when its tunnel reports connected (a moment after the hub saw it online).
  await until(
    () => stack.gateway.tunnelState,
    (s) => s === 'connected',
    WAIT,
    'the gateway connected',
  );
  const rejected: string[] = [];
  board.on('rejected', (r) => rejected.push(r.reason));
  return { stack, flags, board, rejected };
}

describe('GatewayFlagBoard', () => {
  it("holds the gateway's raised flags as it sends them over the tunnel, without its LAN addresses", async (t) => {
    const { stack, flags, board } = await setup(t);
    await flags.store.reconcile(SCOPE, [telnet('porch')]);
    const [held] = await until(
      () => board.list(GATEWAY_ID),
      (l) => l.length === 1,
      WAIT,
      'the flag at the hub',
    );
    assert.equal(held?.kind, 'telnet-open');
    assert.equal(held?.source, 'gateway');
    assert.equal(held?.evidence[0]?.host, 'camera porch');
    assert.equal(held?.evidence[0]?.banner, 'BusyBox on camera porch');
    assert.doesNotMatch(JSON.stringify(board.list()), /192\.168|Porch-pw-77/);
    // The viewer's source merges it with the outside monitor's flags (none here: no exposure monitor).
    assert.deepEqual(stack.hub.flagsFor(GATEWAY_ID), board.list(GATEWAY_ID));

    // Cleared at the gateway (two clean audits): gone at the hub.
    await flags.store.reconcile(SCOPE, []);
    await flags.store.reconcile(SCOPE, []);
    await until(
      () => board.list(GATEWAY_ID),
      (l) => l.length === 0,
      WAIT,
      'the clear at the hub',
    );
  });

  it('catches up at reconnect with what changed while the tunnel was down', async (t) => {
    const { stack, flags, board } = await setup(t);
    await flags.store.reconcile(SCOPE, [telnet('porch')]);
    await until(
      () => board.list(GATEWAY_ID),
      (l) => l.length === 1,
      WAIT,
      'the first flag',
    );
    const down = once(stack.hub, 'gateway');
    stack.proxy.sever();
    await within(down, WAIT, 'the hub seeing the gateway offline');
    // Cleared while away; the hub still shows the last state it knew.
    await flags.store.reconcile(SCOPE, []);
    await flags.store.reconcile(SCOPE, []);
    assert.equal(board.list(GATEWAY_ID).length, 1);
    stack.proxy.restore();
    await until(
      () => board.list(GATEWAY_ID),
      (l) => l.length === 0,
      WAIT,
      'the snapshot after reconnect',
    );
  });

  it("refuses hostile messages (another gateway's flags, the hub's, oversize, wrong types) and stays up", async (t) => {
    const { stack, board, rejected } = await setup(t);
    const send = (m: unknown): void => stack.gateway.sendControl(m);
    send({ type: 'gateway-flag', flag: gatewayFlag() });
    await until(
      () => board.list(GATEWAY_ID).length,
      (n) => n === 1,
      WAIT,
      'a valid flag',
    );

    // Another gateway's flags: refused whether alone or inside a snapshot (which would also clear ours).
    send({ type: 'gateway-flag', flag: gatewayFlag({ gatewayId: 'home-2' }) });
    send({ type: 'gateway-flags', flags: [gatewayFlag({ gatewayId: 'home-2' })] });
    send({ type: 'gateway-flag', flag: gatewayFlag({ source: 'hub', kind: 'exposed', key: 'port-554' }) });
    send({ type: 'gateway-flag', flag: gatewayFlag({ advice: 'x'.repeat(40_000) }) });
    send({ type: 'gateway-flag', flag: { ...gatewayFlag(), state: 'cleared', id: 'telnet-open.porch.x.0' } });
    send({ type: 'gateway-flags', flags: { length: 1 } });
    send({ type: 'gateway-flag', flag: 42 });
    const many = Array.from({ length: 200 }, (_, i) => gatewayFlag({ key: `port-${i}` }));
    send({ type: 'gateway-flags', flags: many });
    // A message of another feature is not this board's business: ignored, not refused.
    send({ type: 'attribution', seen: [] });
    await until(
      () => rejected.length,
      (n) => n >= 8,
      WAIT,
      'eight refusals',
    );
    assert.equal(rejected.length, 8);
    assert.match(rejected[0]!, /flag of another gateway \("home-2"\)/);
    assert.match(rejected[1]!, /gateway-flags\.flags\[0\]: flag of another gateway/);
    assert.match(rejected[2]!, /source "gateway"/);
    assert.match(rejected[3]!, /bytes, limit 32768/);
    assert.match(rejected[4]!, /does not match/);
    assert.match(rejected[5]!, /flags must be an array/);
    assert.match(rejected[6]!, /invalid flag/);
    assert.match(rejected[7]!, /200 flags, limit 128/);
    assert.deepEqual(
      board.list(GATEWAY_ID).map((f) => f.id),
      [gatewayFlag().id],
      'the valid flag is still there, nothing else',
    );
    assert.deepEqual(board.list('home-2'), []);
    assert.equal(stack.gateway.tunnelState, 'connected', 'hostile flags do not cost the tunnel');
  });

  it('refuses a change that would hold more than maxFlagsPerGateway, and validates its options', async () => {
    const tunnels = { on() {}, off() {}, peers: () => [] } as never;
    const board = new GatewayFlagBoard({ tunnels, maxFlagsPerGateway: 2 });
    const changes: string[] = [];
    board.on('change', (c) => changes.push(c.gatewayId));
    assert.equal(board.apply(GATEWAY_ID, { type: 'gateway-flag', flag: gatewayFlag({ key: 'a' }) }), true);
    assert.equal(board.apply(GATEWAY_ID, { type: 'gateway-flag', flag: gatewayFlag({ key: 'b' }) }), true);
    assert.equal(board.apply(GATEWAY_ID, { type: 'gateway-flag', flag: gatewayFlag({ key: 'c' }) }), false);
    assert.equal(board.list(GATEWAY_ID).length, 2);
    // The same state again changes nothing (a resent snapshot does not redraw every page).
    const same = board.list(GATEWAY_ID);
    assert.equal(board.apply(GATEWAY_ID, { type: 'gateway-flags', flags: same }), true);
    assert.deepEqual(changes, [GATEWAY_ID, GATEWAY_ID]);
    assert.equal(board.apply(GATEWAY_ID, { type: 'flag', flag: gatewayFlag() }), false);
    board.close();
    assert.equal(board.apply(GATEWAY_ID, { type: 'gateway-flags', flags: [] }), false, 'closed: ignores');
    assert.throws(() => new GatewayFlagBoard({ tunnels, maxFlagsPerGateway: 0 }), RangeError);
    assert.throws(() => new GatewayFlagBoard({} as never), /option tunnels is required/);
  });
});
