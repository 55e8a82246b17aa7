/**
 * The gateway's media-target rules with real parts end to end: coturn from
 * Debian on loopback, advertised by the hub in the tunnel welcome, allowed by
 * the gateway's policy, used by the built-in engine and by Chromium in
 * relay-only mode (W3C webrtc-pc §4.2.5 `iceTransportPolicy: 'relay'`). A
 * TURN server the hub did not advertise is refused on the same path.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KurentoClient, KurentoRpcError } from '@camgate/core';
import { startCameraSim } from '@camgate/camera-sim';
import {
  launchChromium,
  servePage,
  startCoturn,
  CONFIGURABLE_VIEWER_HTML,
  connectKurento,
  playThroughKurento,
  type ConfigurableViewer,
  type ConfigurableViewerStats,
  startStack,
} from '@camgate/test-helpers';

/** Polls the page's getStats until `pred` holds; the test's own timeout bounds it. */
async function until(
  viewer: ConfigurableViewer,
  pred: (s: ConfigurableViewerStats) => boolean,
): Promise<ConfigurableViewerStats> {
  for (;;) {
    const s = await viewer.stats();
    if (pred(s)) return s;
    await sleep(100);
  }
}

async function rig(t: TestContext) {
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const turn = await startCoturn();
  cleanups.push(() => turn.close());
  const cam = await startCameraSim({
    username: 'admin',
    password: 'mt-e2e-cam-pw-4r7',
    width: 320,
    height: 240,
    fps: 25,
  });
  cleanups.push(() => cam.close());
  const stack = await startStack({
    cameras: [{ id: 'porch', name: 'Porch', url: cam.url, username: 'admin', password: 'mt-e2e-cam-pw-4r7' }],
    engine: { interfaceAddress: '127.0.0.1' },
    hub: { turn: { urls: [turn.url], secret: turn.secret, ttlSeconds: 600 } },
    // Chromium, coturn and the engine share 127.0.0.1: LAN viewers on (the stack's default), relays by default.
  });
  cleanups.push(() => stack.close());
  const refused: { method: string; rule: string }[] = [];
  stack.gateway.on('refused', (e) => refused.push(e));
  return { turn, stack, refused, defer: (fn: () => unknown) => cleanups.push(fn) };
}

describe('media targets end to end (coturn, engine, Chromium)', { concurrency: 1 }, () => {
  it(
    'the TURN server the hub advertised is allowed: Chromium relay-only plays live video through the gateway',
    { timeout: 120_000 },
    async (t) => {
      const r = await rig(t);
      const site = await servePage(CONFIGURABLE_VIEWER_HTML);
      r.defer(() => site.close());
      const browser = await launchChromium();
      r.defer(() => browser.close());
      const client = await connectKurento(r.stack.kurentoUrl);
      r.defer(() => client.close());
      const viewer = await playThroughKurento({
        browser,
        pageUrl: site.url,
        client,
        cameraUrl: 'camera://porch',
        rtcConfig: { iceServers: r.stack.hub.iceServersFor('alice'), iceTransportPolicy: 'relay' },
        engineTurnUrl: r.stack.hub.kurentoTurnUrlFor('engine'),
      });
      r.defer(() => viewer.close());
      const s1 = await until(viewer, (s) => s.framesDecoded >= 10);
      const s2 = await until(viewer, (s) => s.framesDecoded >= s1.framesDecoded + 25);
      assert.ok(
        s2.framesDecoded > s1.framesDecoded,
        `framesDecoded grows (${s1.framesDecoded} -> ${s2.framesDecoded})`,
      );
      assert.equal(s2.localCandidateType, 'relay');
      assert.deepEqual(r.refused, [], 'the policy refused nothing on the way (setTurnUrl included)');
      assert.ok(!JSON.stringify(r.stack.logs).includes(r.turn.secret), 'the TURN secret never left the hub');
    },
  );

  it('a TURN server the hub did not advertise (another loopback host) is refused on the same path', async (t) => {
    const r = await rig(t);
    const c = await KurentoClient.connect(r.stack.kurentoUrl, { requestTimeoutMs: 10_000 });
    r.defer(() => c.close());
    const pipeline = await c.create('MediaPipeline');
    const webrtc = await c.create('WebRtcEndpoint', { mediaPipeline: pipeline });
    const minted = r.stack.hub.kurentoTurnUrlFor('engine')!;
    await c.invoke(webrtc, 'setTurnUrl', { turnUrl: minted });
    const port = Number(/@[^:]+:(\d+)/.exec(minted)![1]);
    // Same credential, the same port on another loopback host over TCP: what a port scan through TURN looks like.
    // (127.0.0.1 itself is the hub's host here, which the gateway allows on any port.)
    const other = `${minted.slice(0, minted.lastIndexOf('@'))}@127.0.0.2:${port}?transport=tcp`;
    await assert.rejects(
      c.invoke(webrtc, 'setTurnUrl', { turnUrl: other }),
      (err: Error) =>
        err instanceof KurentoRpcError &&
        (err.data.data as { rule?: string } | undefined)?.rule === 'target-not-allowed' &&
        !err.message.includes(minted.split('@')[0]!),
    );
    assert.deepEqual(
      r.refused.map((e) => e.rule),
      ['target-not-allowed'],
    );
  });
});
