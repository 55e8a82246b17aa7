/**
 * The talk grant end to end: hub ticket → tunnel channel meta → the gateway's policy, driven with the official
 * kurento-client through a real hub, gateway and engine (docs/kurento-policy.md "Talking back"). A Kurento
 * connection without the hub's single-use ticket can never talk, however it asks; one with a ticket may talk
 * through that one camera only, with audio only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import kurentoClient from 'kurento-client';
import { startStack, GATEWAY_ID } from '@camgate/test-helpers';

/** The official client's timers would keep the process alive 20 s after close. */
const CLIENT_OPTIONS = { failAfter: 1, request_timeout: 5000, response_timeout: 5000, duplicates_timeout: 1000 };
const CAMERAS = [
  { id: 'porch', name: 'Porch', url: 'rtsp://127.0.0.1:9/porch', username: 'admin', password: 'talk-cam-pw-1' },
  { id: 'garden', name: 'Garden', url: 'rtsp://127.0.0.1:9/garden', username: 'admin', password: 'talk-cam-pw-2' },
];
/** What Chromium offers for a microphone track (one sending Opus section). */
const MIC_OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, () => 'AB').join(':'),
  'a=setup:actpass',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  '',
].join('\r\n');

interface RpcLikeError {
  code?: number;
  message?: string;
  data?: { code?: string; rule?: string };
}

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    const e = err as RpcLikeError;
    return e.data?.code === 'CAMGATE_POLICY_DENIED' ? e.data.rule : `other: ${e.message}`;
  }
}

/**
 * Calls a method of the official client with its callback: kurento-client 7.3's promise forms resolve even when
 * the server refused the request (it prints the error with console.trace and resolves undefined).
 */
function call(target: object, method: string, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const fn = (target as Record<string, (...a: unknown[]) => unknown>)[method]!;
    fn.call(target, ...args, (err: unknown) => (err ? reject(err as Error) : resolve()));
  });
}

const connect = (source: object, sink: object, mediaType?: string): Promise<void> =>
  mediaType === undefined ? call(source, 'connect', sink) : call(source, 'connect', sink, mediaType);

async function upgradeStatus(url: string): Promise<number> {
  const ws = new WebSocket(url);
  const status = await Promise.race([
    once(ws, 'unexpected-response').then(([, res]) => (res as { statusCode: number }).statusCode),
    once(ws, 'open').then(() => 101),
    once(ws, 'error').then(() => 0),
  ]);
  ws.terminate();
  return status;
}

describe('talk grant through the hub', () => {
  it('refuses talking without a ticket and allows exactly audio into the ticket camera with one', async (t) => {
    const stack = await startStack({ cameras: CAMERAS });
    t.after(() => stack.close());

    // No ticket: the talk connect and a sending audio offer are refused by the gateway's policy.
    const plain = await kurentoClient(stack.kurentoUrl, CLIENT_OPTIONS);
    t.after(() => plain.close());
    const p1 = await plain.create('MediaPipeline');
    const porch1 = await p1.create('PlayerEndpoint', { uri: 'camera://porch' });
    const w1 = await p1.create('WebRtcEndpoint');
    assert.equal(await refusal(connect(w1, porch1, 'AUDIO')), 'talk-not-granted');
    assert.equal(await refusal(call(w1, 'processOffer', MIC_OFFER)), 'talk-not-granted');
    assert.equal(await refusal(connect(porch1, w1)), undefined, 'viewing still works');
    await p1.release();

    // With a ticket for porch: audio into porch's player passes; video, all media, or garden do not.
    const talkUrl = stack.hub.kurentoTalkUrl(GATEWAY_ID, 'porch');
    const talking = await kurentoClient(talkUrl, CLIENT_OPTIONS);
    t.after(() => talking.close());
    const p2 = await talking.create('MediaPipeline');
    const [porch2, garden2, w2] = await Promise.all([
      p2.create('PlayerEndpoint', { uri: 'camera://porch' }),
      p2.create('PlayerEndpoint', { uri: 'camera://garden' }),
      p2.create('WebRtcEndpoint'),
    ]);
    assert.equal(await refusal(connect(w2, garden2, 'AUDIO')), 'talk-not-granted');
    assert.equal(await refusal(connect(w2, porch2, 'VIDEO')), 'talk-connect');
    assert.equal(await refusal(connect(w2, porch2)), 'talk-connect');
    assert.equal(await refusal(connect(garden2, porch2, 'AUDIO')), 'talk-connect');
    assert.equal(await refusal(connect(w2, porch2, 'AUDIO')), undefined);
    const offered = await refusal(call(w2, 'processOffer', MIC_OFFER));
    assert.ok(offered === undefined || offered.startsWith('other:'), `not a policy refusal: ${offered}`);
    await p2.release();

    // The ticket was single-use; a forged one, or one for another gateway, opens nothing.
    assert.equal(await upgradeStatus(talkUrl), 403);
    assert.equal(await upgradeStatus(`${stack.kurentoUrl}?talk=${'A'.repeat(32)}`), 403);
    assert.equal(await upgradeStatus(`${stack.kurentoUrl}?talk=x`), 403);
    const other = stack.hub.kurentoTalkUrl('other-gw', 'porch').replace('/kurento/other-gw', `/kurento/${GATEWAY_ID}`);
    assert.equal(await upgradeStatus(other), 403);
    assert.equal(await upgradeStatus(stack.kurentoUrl), 101, 'the plain endpoint still opens');
    assert.throws(() => stack.hub.kurentoTalkUrl(GATEWAY_ID, '../x'), TypeError);

    // Camera passwords never reached the hub side or the logs.
    const logged = JSON.stringify(stack.logs);
    for (const c of CAMERAS) assert.ok(!logged.includes(c.password));
  });
});
