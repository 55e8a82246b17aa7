/**
 * The hub's Kurento endpoint when the gateway closes a channel while the
 * client is still sending (found by the soak: the media backend was
 * SIGKILLed, the gateway closed every channel, a frame already in flight made
 * Channel.send throw inside a ws listener and the hub process ended).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startStack } from '@camgate/test-helpers';

describe('KurentoEndpoint', () => {
  it('drops frames that arrive after the gateway closed their channel, and keeps serving', async (t) => {
    const stack = await startStack();
    t.after(() => stack.close());
    let uncaught: unknown;
    const onUncaught = (err: unknown): void => {
      uncaught = err;
    };
    process.on('uncaughtException', onUncaught);
    t.after(() => process.off('uncaughtException', onUncaught));

    const ws = new WebSocket(stack.kurentoUrl);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    // A client that keeps sending: some frames reach the hub after the channel is gone.
    let n = 0;
    const blast = setInterval(() => {
      for (let i = 0; i < 20 && ws.readyState === ws.OPEN; i++) {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: ++n, method: 'ping', params: { interval: 60_000 } }));
      }
    }, 1);
    t.after(() => clearInterval(blast));
    await new Promise((r) => setTimeout(r, 100));
    await stack.engine.close(); // the gateway loses its media backend and closes the channel
    await closed;
    clearInterval(blast);
    assert.equal(uncaught, undefined, 'nothing thrown out of a listener');

    // The hub still answers: a new Kurento connection opens (the gateway is online).
    const again = new WebSocket(stack.kurentoUrl);
    await once(again, 'open');
    again.close();
    assert.ok(n > 0);
  });
});
