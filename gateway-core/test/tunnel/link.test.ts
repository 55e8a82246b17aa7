import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { createLogger, memorySink } from '../../src/util/index.js';
import { FrameType } from '../../src/tunnel/constants.js';
import { decodeFrame, encodeFrame, type Frame } from '../../src/tunnel/frame.js';
import { Link } from '../../src/tunnel/link.js';
import { resolveCommonOptions } from '../../src/tunnel/options.js';

const MAX = 1024 * 1024;

/** A Link on a sink that records every frame it sends. */
function link(ackDelayMs = 20): { link: Link; sent: Frame[] } {
  const sent: Frame[] = [];
  const l = new Link('gateway', resolveCommonOptions('test', { ackDelayMs }), createLogger('test', memorySink()), {
    onControl: () => undefined,
  });
  l.attach({ send: (buf) => sent.push(decodeFrame(buf, MAX)) }, 0);
  return { link: l, sent };
}

/** `n` CONTROL frames from the peer with seq from+1 … from+n (control: no channel needed). */
function receive(l: Link, from: number, n: number): void {
  for (let s = from + 1; s <= from + n; s++) {
    const payload = Buffer.from(JSON.stringify({ s }));
    l.handleFrame(decodeFrame(encodeFrame({ type: FrameType.CONTROL, channel: 0, seq: s, ack: 0, payload }), MAX));
  }
}

describe('Link', () => {
  describe('acknowledgement (docs/tunnel.md "Resume and acknowledgement")', () => {
    it('answers a burst of 640 frames read in one tick with one cumulative ACK, not one per 64', async () => {
      const { link: l, sent } = link();
      receive(l, 0, 640);
      assert.equal(sent.length, 0, 'the ACK waits for the end of the tick');
      await tick();
      assert.deepEqual(
        sent.map((f) => [f.type, f.ack]),
        [[FrameType.ACK, 640]],
      );
      l.dispose(1000, 'test over');
    });

    it('sends no standalone ACK when a frame sent in the same tick carries it', async () => {
      const { link: l, sent } = link();
      receive(l, 0, 64);
      l.sendControl(FrameType.CONTROL, { reply: true });
      await tick();
      assert.deepEqual(
        sent.map((f) => [f.type, f.ack]),
        [[FrameType.CONTROL, 64]],
      );
      l.dispose(1000, 'test over');
    });

    it('on a heartbeat sends an ACK only for frames nothing has acknowledged yet (an idle tunnel sends none)', () => {
      const { link: l, sent } = link(60_000); // the ackDelayMs timer stays out of the way
      l.heartbeat();
      assert.equal(sent.length, 0, 'nothing received: nothing to acknowledge');
      receive(l, 0, 3);
      l.heartbeat();
      assert.deepEqual(
        sent.map((f) => [f.type, f.ack]),
        [[FrameType.ACK, 3]],
      );
      l.heartbeat();
      assert.equal(sent.length, 1, 'the peer has the count already');
      receive(l, 3, 1);
      l.sendControl(FrameType.CONTROL, { reply: true }); // carries ack 4
      l.heartbeat();
      assert.deepEqual(
        sent.map((f) => [f.type, f.ack]),
        [
          [FrameType.ACK, 3],
          [FrameType.CONTROL, 4],
        ],
      );
      l.dispose(1000, 'test over');
    });

    it('with ackDelayMs 0 acknowledges every frame at once', () => {
      const { link: l, sent } = link(0);
      receive(l, 0, 3);
      assert.deepEqual(
        sent.map((f) => f.ack),
        [1, 2, 3],
      );
      l.dispose(1000, 'test over');
    });

    it('a tick-end ACK after the connection is gone sends nothing and does not throw', async () => {
      const { link: l, sent } = link();
      receive(l, 0, 64);
      l.detach();
      await tick();
      assert.equal(sent.length, 0);
      l.dispose(1000, 'test over');
    });
  });
});
