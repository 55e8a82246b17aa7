/**
 * The official kurento-client, unchanged, through hub → tunnel → gateway →
 * the built-in engine (a Kurento-protocol backend), with the gateway's policy
 * in the path. ARCHITECTURE.md, "The control path".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import kurentoClient from 'kurento-client';
import { KurentoClient, KurentoRpcError, POLICY_DENIED_RPC_CODE } from '../../src/kurento/index.js';
import { unmaskClientStream, startStack, GATEWAY_SECRET, type Stack } from '@camgate/test-helpers';
import { loopbackViewerConfig } from '../helpers/webrtc-viewer.js';

const CAMERA = {
  id: 'porch',
  name: 'Porch',
  url: 'rtsp://127.0.0.1:18554/stream1',
  username: 'admin',
  password: 'Cam-Pa55-x9Qe',
};

type KClient = Awaited<ReturnType<typeof kurentoClient>>;

async function connect(stack: Stack): Promise<KClient> {
  // duplicates_timeout: kurento-jsonrpc otherwise keeps a 20 s timer per answered request, holding the test open.
  return kurentoClient(stack.kurentoUrl, { failAfter: 1, strict: true, duplicates_timeout: 50 });
}

/** Rejection of a kurento-client promise, as the JSON-RPC error it carries. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function rpcError(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected the request to be refused');
}

describe('Gateway relay with the official kurento-client', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ cameras: [CAMERA] });
  });
  after(async () => {
    await stack.close();
  });

  it('creates a pipeline, a camera player and a WebRTC endpoint, connects and releases them', async () => {
    const client = await connect(stack);
    try {
      const pipeline = await client.create('MediaPipeline');
      const player = await pipeline.create('PlayerEndpoint', { uri: `camera://${CAMERA.id}` });
      const webrtc = await pipeline.create('WebRtcEndpoint');
      await player.connect(webrtc);
      assert.equal(stack.engine.stats().pipelines, 1);
      assert.ok(stack.engine.stats().objects >= 3);
      await pipeline.release();
      assert.equal(stack.engine.stats().pipelines, 0);
    } finally {
      client.close();
    }
  });

  it('refuses a player of any URI but camera://ID, before the backend sees it', async () => {
    const client = await connect(stack);
    try {
      const pipeline = await client.create('MediaPipeline');
      const before = stack.engine.stats().objects;
      for (const uri of [
        'rtsp://127.0.0.1:554/x',
        'http://192.0.2.1/',
        'file:///etc/passwd',
        'camera://no-such-camera',
      ]) {
        const err = await rpcError(pipeline.create('PlayerEndpoint', { uri }));
        assert.match(err.message, /^camgate policy: /, uri);
      }
      assert.equal(stack.engine.stats().objects, before, 'no refused player reached the engine');
      await pipeline.release();
    } finally {
      client.close();
    }
  });

  it('refuses getters that would echo the camera URL', async () => {
    // Our typed client shows the raw JSON-RPC error (kurento-client resolves refused getters to undefined).
    const client = await KurentoClient.connect(stack.kurentoUrl);
    try {
      const pipeline = await client.create('MediaPipeline');
      const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: `camera://${CAMERA.id}` });
      for (const [object, operation] of [
        [player, 'getUri'],
        [pipeline, 'getGstreamerDot'],
      ] as const) {
        const err = await rpcError(client.invoke(object, operation));
        assert.ok(err instanceof KurentoRpcError, operation);
        assert.equal(err.data.code, POLICY_DENIED_RPC_CODE);
        assert.match(err.data.message, /^camgate policy: operation-not-allowed/);
      }
      await client.release(pipeline);
    } finally {
      await client.close();
    }
  });

  it("refuses a second session's calls on the first session's objects", async () => {
    const a = await connect(stack);
    const b = await connect(stack);
    try {
      const pipeline = await a.create('MediaPipeline');
      const err = await rpcError(
        b.getMediaobjectById(pipeline.id).then((o: { release(): Promise<void> }) => o.release()),
      );
      assert.match(err.message, /^camgate policy: /);
      assert.equal(stack.engine.stats().pipelines, 1, 'the pipeline survived');
      await pipeline.release();
    } finally {
      a.close();
      b.close();
    }
  });

  it('delivers events subscribed through the tunnel', async () => {
    const client = await connect(stack);
    try {
      const pipeline = await client.create('MediaPipeline');
      const webrtc = await pipeline.create('WebRtcEndpoint');
      const gathered = new Promise<void>((resolve) => webrtc.on('IceGatheringDone', () => resolve()));
      const offer = await makeOffer();
      await webrtc.processOffer(offer);
      await webrtc.gatherCandidates();
      await gathered;
      await pipeline.release();
    } finally {
      client.close();
    }
  });

  it('never lets a camera credential, camera address or the gateway secret reach the hub or the logs', () => {
    // WebSocket clients mask every frame (RFC 6455 §5.3): search what the hub decodes, not the masked bytes.
    const toHub = unmaskClientStream(stack.proxy.upstreamBytes).toString('latin1');
    assert.ok(toHub.includes('"clientProof"'), 'the recording was decoded (handshake visible)');
    assert.ok(toHub.length > 1000, 'the test recorded the tunnel traffic');
    const cameraAddress = new URL(CAMERA.url).host + new URL(CAMERA.url).pathname;
    for (const secret of [CAMERA.password, cameraAddress, GATEWAY_SECRET]) {
      assert.equal(
        toHub.includes(secret),
        false,
        `hub received ${secret === GATEWAY_SECRET ? 'the gateway secret' : secret}`,
      );
    }
    const logs = JSON.stringify(stack.logs);
    for (const secret of [CAMERA.password, GATEWAY_SECRET]) assert.equal(logs.includes(secret), false);
  });
});

/** A browser-like SDP offer for receiving H.264 video (packetization-mode 1; no media flows in this test). */
async function makeOffer(): Promise<string> {
  const { RTCPeerConnection } = await import('werift');
  const pc = new RTCPeerConnection(loopbackViewerConfig());
  pc.addTransceiver('video', { direction: 'recvonly' });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}
