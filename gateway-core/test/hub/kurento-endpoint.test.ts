import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startStack } from '../helpers/stack.js';

/** Opens a WebSocket; resolves with 'open' or the HTTP status of a refused upgrade. */
function tryOpen(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; result: string | number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ ws, result: res.statusCode ?? 0 });
    });
    ws.once('open', () => resolve({ ws, result: 'open' }));
    ws.once('error', reject);
  });
}

describe('Hub Kurento endpoint', () => {
  it('refuses a connection with an Origin header (403) and logs it', async (t) => {
    const stack = await startStack();
    t.after(() => stack.close());
    const { result } = await tryOpen(stack.kurentoUrl, { Origin: 'https://attacker.example' });
    assert.equal(result, 403);
    const log = stack.logs.find((r) => r.msg === 'kurento connection refused: browser origin');
    assert.equal(log?.fields.origin, 'https://attacker.example');
    assert.equal(stack.gateway.activeChannels, 0);
  });

  it('beyond the channel limit answers 503 with the reason and logs it, instead of a silent drop', async (t) => {
    const stack = await startStack({ hub: { tunnel: { maxChannels: 1 } } });
    t.after(() => stack.close());
    const first = await tryOpen(stack.kurentoUrl);
    t.after(() => first.ws.terminate());
    assert.equal(first.result, 'open');
    const second = await tryOpen(stack.kurentoUrl);
    assert.equal(second.result, 503);
    const log = stack.logs.find((r) => r.msg === 'kurento connection refused');
    assert.equal(log?.fields.code, 'CAMGATE_TUNNEL_CHANNEL_LIMIT');
    assert.match(String(log?.fields.reason), /channel limit reached: 1 of 1/);
  });
});
