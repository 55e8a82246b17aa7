import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { until } from '@camgate/test-helpers';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger, memorySink } from '../../src/util/index.js';
import { FrameType } from '../../src/tunnel/constants.js';
import { encodeFrame, type Frame } from '../../src/tunnel/frame.js';
import { Wire } from '../../src/tunnel/wire.js';

const OPTS = { heartbeatMs: 60_000, deadAfterMs: 120_000, maxFrameBytes: 1024 * 1024 };

/** A connected pair of Wires on 127.0.0.1:0: `gw` is the client (masked frames), `hub` the server. */
async function pair(t: TestContext, gwOpts = OPTS, hubOpts = OPTS): Promise<{ gw: Wire; hub: Wire }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await once(ws, 'open');
  const [server] = await accepted;
  const gw = new Wire(ws, gwOpts, createLogger('test', memorySink()));
  const hub = new Wire(server, hubOpts, createLogger('test', memorySink()));
  t.after(async () => {
    gw.terminate(1006, 'test over');
    hub.terminate(1006, 'test over');
    await Promise.all([gw.whenClosed(), hub.whenClosed()]);
    await new Promise<void>((r) => wss.close(() => r()));
  });
  return { gw, hub };
}

/** Counts the write calls node makes on the socket under `wire` (net.Socket's _write/_writev: one per write to the kernel). */
function countWrites(wire: Wire): () => number {
  const socket = (wire.ws as unknown as { _socket: Record<string, (...a: unknown[]) => unknown> })._socket;
  let n = 0;
  for (const name of ['_write', '_writev']) {
    const orig = socket[name]!;
    socket[name] = function (this: unknown, ...args: unknown[]) {
      n++;
      return orig.apply(this, args);
    };
  }
  return () => n;
}

function dataFrame(i: number): Buffer {
  return encodeFrame({ type: FrameType.DATA, channel: 1, seq: i, ack: 0, payload: Buffer.from(`message ${i}`) });
}

function collectFrames(wire: Wire, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  return new Promise((resolve) => {
    const on = (f: Frame): void => {
      out.push(f);
      if (out.length === n) {
        wire.off('frame', on);
        resolve(out);
      }
    };
    wire.on('frame', on);
  });
}

describe('Wire', () => {
  describe('#send (write batching)', () => {
    for (const side of ['gw', 'hub'] as const) {
      it(`${side === 'gw' ? 'client' : 'server'} side: the frames of one tick leave in one socket write, in order`, async (t) => {
        const wires = await pair(t);
        const from = wires[side];
        const to = wires[side === 'gw' ? 'hub' : 'gw'];
        const writes = countWrites(from);
        const got = collectFrames(to, 50);
        for (let i = 1; i <= 50; i++) from.send(dataFrame(i));
        assert.equal(writes(), 0, 'nothing is written before the tick ends');
        const frames = await got;
        assert.equal(writes(), 1);
        assert.equal(from.batches, 1);
        assert.deepEqual(
          frames.map((f) => [f.seq, f.payload.toString()]),
          Array.from({ length: 50 }, (_, k) => [k + 1, `message ${k + 1}`]),
        );
      });
    }

    it('does not hold a frame past its tick: frames of two ticks are two writes, each delivered', async (t) => {
      const { gw, hub } = await pair(t);
      const writes = countWrites(gw);
      const first = collectFrames(hub, 1);
      gw.send(dataFrame(1));
      await tick();
      assert.equal(writes(), 1);
      assert.equal((await first)[0]!.seq, 1);
      const second = collectFrames(hub, 1);
      gw.send(dataFrame(2));
      assert.equal((await second)[0]!.seq, 2);
      assert.equal(writes(), 2);
      assert.equal(gw.batches, 2);
    });
  });

  describe('#close', () => {
    it('delivers frames sent earlier in the same tick before the close, with its code and reason', async (t) => {
      const { gw, hub } = await pair(t);
      const got = collectFrames(hub, 5);
      const closed = once(hub, 'close') as Promise<[number, string]>;
      for (let i = 1; i <= 5; i++) gw.send(dataFrame(i));
      const done = gw.close(4001, 'gateway shutting down');
      assert.deepEqual(
        (await got).map((f) => f.seq),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(await closed, [4001, 'gateway shutting down']);
      await done;
      assert.equal(gw.closed, true);
    });

    it('terminate() while frames are corked drops them and closes once, without throwing', async (t) => {
      const { gw, hub } = await pair(t);
      const closes: [number, string][] = [];
      gw.on('close', (code, reason) => closes.push([code, reason]));
      const hubClosed = once(hub, 'close');
      for (let i = 1; i <= 5; i++) gw.send(dataFrame(i));
      gw.terminate(1006, 'peer dead: test');
      gw.send(dataFrame(6)); // after terminate: ignored, not thrown
      await gw.whenClosed();
      await hubClosed;
      await tick();
      assert.deepEqual(closes, [[1006, 'peer dead: test']]);
    });
  });

  describe('heartbeat (docs/tunnel.md "Liveness and reconnection")', () => {
    const FAST = { heartbeatMs: 100, deadAfterMs: 1_500, maxFrameBytes: 1024 * 1024 };

    it('a hub that skips its ping while the gateway pings sends none of its own, and both stay alive', async (t) => {
      const { gw, hub } = await pair(t, FAST, FAST);
      hub.skipPingWhenPeerPings = true;
      let gwPings = 0;
      let hubPings = 0;
      hub.ws.on('ping', () => gwPings++);
      gw.ws.on('ping', () => hubPings++);
      // 20 heartbeats: longer than deadAfterMs, so a silent end would have been declared dead.
      await until(
        () => gwPings,
        (n) => n >= 20,
        60_000,
        'twenty pings from the gateway',
      );
      assert.equal(gw.closed || hub.closed, false, 'the pongs to the gateway’s pings keep both ends alive');
      // Timer phases may let the odd interval pass without a gateway ping; then the hub pings, as it should.
      assert.ok(hubPings <= gwPings / 4, `the hub pinged ${hubPings} times while the gateway pinged ${gwPings}`);
    });

    it('a hub that skips its ping when pinged still pings a gateway that does not, and finds it alive', async (t) => {
      const { gw, hub } = await pair(t, OPTS, FAST); // the gateway's heartbeat: once a minute
      hub.skipPingWhenPeerPings = true;
      let hubPings = 0;
      gw.ws.on('ping', () => hubPings++);
      await until(
        () => hubPings,
        (n) => n >= 20,
        60_000,
        'twenty pings from the hub',
      );
      assert.equal(hub.closed, false, 'the gateway’s pongs keep it alive at the hub');
    });
  });
});
