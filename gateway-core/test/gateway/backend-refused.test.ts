import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { KurentoEngine } from '../../src/engine/index.js';
import { startStack } from '@camgate/test-helpers';

describe('Gateway relay to an engine that refuses it', () => {
  it('logs the 401 with a hint about the token file and closes the channel (the client is not left hanging)', async (t) => {
    // A gateway configured with the engine's address but not its token.
    const other = await KurentoEngine.start({ port: 0 });
    t.after(() => other.close());
    const stack = await startStack({ gateway: { mediaBackendUrl: other.listenUrl } });
    t.after(() => stack.close());
    const ws = new WebSocket(stack.kurentoUrl);
    t.after(() => ws.terminate());
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { interval: 1000 } }));
    const code = await Promise.race([
      closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('channel never closed')), 15_000).unref()),
    ]);
    assert.ok(code > 0);
    const log = stack.logs.find((r) => r.msg === 'media backend refused the connection');
    assert.equal(log?.fields.status, 401);
    assert.match(String(log?.fields.hint), /mediaBackend\.tokenFile/);
    assert.equal(other.stats().sessions, 0);
  });
});
