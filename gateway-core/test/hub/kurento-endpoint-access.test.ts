import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startStack } from '@camgate/test-helpers';

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

  it('with logFrames (--verbose) logs every Kurento message at the hub and at the gateway, both ways', async (t) => {
    const stack = await startStack({ hub: { logFrames: true }, gateway: { logFrames: true } });
    t.after(() => stack.close());
    const { ws, result } = await tryOpen(stack.kurentoUrl);
    t.after(() => ws.terminate());
    assert.equal(result, 'open');
    const answer = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { interval: 1000 } }));
    assert.match(await answer, /pong/);
    const frames = (msg: string): string[] =>
      stack.logs.filter((r) => r.msg === msg && r.level === 'debug').map((r) => String(r.fields.frame));
    for (const msg of ['client → gateway', 'hub → backend']) assert.match(frames(msg).join(), /"method":"ping"/, msg);
    for (const msg of ['backend → hub', 'gateway → client']) assert.match(frames(msg).join(), /pong/, msg);
  });
});
