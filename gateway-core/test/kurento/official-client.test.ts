/**
 * The official kurento-client 7.3 must work unchanged through the gateway:
 * it talks to a loopback Kurento-like server that puts a PolicySession in
 * front of its backend exactly as the relay does, and every request it sends
 * for a viewing flow must be forwarded, not refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import kurentoClient from 'kurento-client';
import { KurentoPolicy } from '../../src/kurento/policy.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { startFakeKurento, testCameras, TEST_CAMERA_URI } from '../helpers/kurento.js';

/** The official client's timers (unanswered ping at close, duplicate-response memory) would keep the process alive 20 s. */
const CLIENT_OPTIONS = { failAfter: 1, request_timeout: 1000, response_timeout: 1000, duplicates_timeout: 1000 };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';

describe('official kurento-client through the policy', () => {
  it('passes every request of a viewing flow and gets camera://ID rewritten', async (t) => {
    const sink = memorySink();
    const policy = new KurentoPolicy({ cameras: testCameras, logger: createLogger('test', sink) });
    const fake = await startFakeKurento({ policy });
    t.after(() => fake.close());

    const client = await kurentoClient(fake.url, CLIENT_OPTIONS);
    t.after(() => client.close());
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: 'camera://cam1' });
    const webrtc = await pipeline.create('WebRtcEndpoint');
    const gotCandidate = new Promise<unknown>((resolve) => webrtc.on('IceCandidateFound', resolve));
    await player.connect(webrtc);
    const answer = await webrtc.processOffer(OFFER);
    assert.match(answer, /^v=0/);
    await webrtc.gatherCandidates();
    const event = (await gotCandidate) as { candidate: { candidate: string } };
    assert.match(event.candidate.candidate, /^candidate:/);
    const IceCandidate = kurentoClient.getComplexType('IceCandidate');
    await webrtc.addIceCandidate(
      new IceCandidate({
        // A viewer outside the home (documentation address, RFC 5737): the gateway's default refuses LAN ones.
        candidate: 'candidate:2 1 UDP 2122252543 203.0.113.20 50000 typ srflx raddr 0.0.0.0 rport 0',
        sdpMid: '0',
        sdpMLineIndex: 0,
      }),
    );
    await player.play();
    await pipeline.release();

    assert.deepEqual(fake.denied, [], 'the official client must not hit the policy');
    const methods = new Set(fake.received.map((r) => r.method));
    for (const m of ['ping', 'describe', 'invoke', 'create', 'subscribe', 'release']) assert.ok(methods.has(m), m);
    const ops = new Set(fake.received.flatMap((r) => (r.params as { operation?: string }).operation ?? []));
    for (const op of ['getInfo', 'connect', 'processOffer', 'gatherCandidates', 'addIceCandidate', 'play']) {
      assert.ok(ops.has(op), op);
    }
    const createPlayer = fake.backend.find((r) => (r.params as { type?: string }).type === 'PlayerEndpoint');
    assert.equal(
      (createPlayer?.params as { constructorParams: { uri: string } }).constructorParams.uri,
      TEST_CAMERA_URI,
    );
    // The hub side never sees the real URL, and nothing logged it.
    for (const frame of fake.sent) assert.ok(!frame.includes('Sup3rS3cretPw'), frame);
    assert.ok(!JSON.stringify(sink.records).includes('Sup3rS3cretPw'));
    // Releasing the pipeline released what the session owned.
    assert.deepEqual(fake.sessions[0]!.ownedObjects(), []);
  });

  it('passes the implicit transaction the official client batches concurrent requests into', async (t) => {
    const policy = new KurentoPolicy({ cameras: testCameras });
    const fake = await startFakeKurento({ policy });
    t.after(() => fake.close());
    // Explicit transactions (client.beginTransaction) throw on Node >= 22 inside kurento-client 7.3
    // (`Domain` is a class there), so implicit transactions are what the official client can send.
    const client = await kurentoClient(fake.url, { ...CLIENT_OPTIONS, useImplicitTransactions: true });
    t.after(() => client.close());
    const pipeline = await client.create('MediaPipeline');
    const [player, webrtc] = await Promise.all([
      pipeline.create('PlayerEndpoint', { uri: 'camera://cam1' }),
      pipeline.create('WebRtcEndpoint'),
    ]);
    await player.connect(webrtc);
    const txs = fake.backend.filter((r) => r.method === 'transaction').map((r) => JSON.stringify(r.params));
    const playerTx = txs.find((text) => text.includes('PlayerEndpoint'));
    assert.ok(playerTx, 'the creations went out as one transaction');
    assert.ok(playerTx.includes(JSON.stringify(TEST_CAMERA_URI)), 'camera://ID rewritten inside the transaction');
    assert.deepEqual(fake.denied, []);
    assert.deepEqual(new Set(fake.sessions[0]!.ownedObjects()), new Set([pipeline.id, player.id, webrtc.id]));
    await pipeline.release();
    assert.deepEqual(fake.sessions[0]!.ownedObjects(), []);
  });

  it('shows the official client a policy refusal as an error with the rule', async (t) => {
    const policy = new KurentoPolicy({ cameras: testCameras });
    const fake = await startFakeKurento({ policy });
    t.after(() => fake.close());
    const client = await kurentoClient(fake.url, CLIENT_OPTIONS);
    t.after(() => client.close());
    const pipeline = await client.create('MediaPipeline');
    await assert.rejects(
      pipeline.create('PlayerEndpoint', { uri: 'http://192.0.2.1/admin' }),
      (err: Error & { code?: number; data?: { rule?: string } }) => {
        assert.equal(err.code, -32001);
        assert.equal(err.data?.rule, 'player-uri');
        return true;
      },
    );
    const player = await pipeline.create('PlayerEndpoint', { uri: 'camera://cam1' });
    // The official client's promise-style getters swallow errors; its callback style reports them.
    const err = await new Promise<Error | null>((resolve) => player.getUri((e: Error | null) => resolve(e)));
    assert.match(String(err?.message), /^camgate policy: operation-not-allowed \(PlayerEndpoint.getUri\)$/);
    assert.deepEqual(
      fake.denied.map((d) => d.rule),
      ['player-uri', 'operation-not-allowed'],
    );
  });
});
