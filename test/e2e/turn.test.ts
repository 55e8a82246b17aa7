/**
 * Media through a real TURN relay: coturn from Debian on loopback
 * (`use-auth-secret`), credentials minted by camgate from its
 * `static-auth-secret` (draft-uberti-behave-turn-rest-00 §2.2), Chromium
 * forced to relay-only (`iceTransportPolicy: 'relay'`, W3C webrtc-pc §4.2.5),
 * the built-in engine driven by the official kurento-client with the same
 * TURN server set through `WebRtcEndpoint.setTurnUrl`.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  KurentoEngine,
  kurentoTurnUrl,
  mintTurnCredentials,
  TurnCredentialMinter,
  createLogger,
  memorySink,
} from '@camgate/core';
import { startCameraSim } from '@camgate/camera-sim';
import {
  launchChromium,
  servePage,
  startCoturn,
  type Coturn,
  CONFIGURABLE_VIEWER_HTML,
  connectKurento,
  playThroughKurento,
  type ConfigurableViewer,
  type ConfigurableViewerStats,
} from '@camgate/test-helpers';

interface Rig {
  turn: Coturn;
  cameraUrl: string;
  engineUrl: string;
  play(browserCreds: { username: string; credential: string }): Promise<ConfigurableViewer>;
  /** Runs `fn` at cleanup, before the engine closes. */
  defer(fn: () => unknown): void;
  logs: ReturnType<typeof memorySink>;
}

async function rig(t: TestContext): Promise<Rig> {
  // One LIFO stack: viewers release their pipelines before the client closes, the client before the engine.
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const turn = await startCoturn();
  cleanups.push(() => turn.close());
  const cam = await startCameraSim({
    username: 'admin',
    password: 'turn-e2e-cam-pw',
    width: 320,
    height: 240,
    fps: 25,
  });
  cleanups.push(() => cam.close());
  const logs = memorySink();
  const engine = await KurentoEngine.start({
    port: 0,
    interfaceAddress: '127.0.0.1',
    logger: createLogger('engine', logs),
  });
  const client = await connectKurento(engine.url);
  cleanups.push(() => engine.close());
  cleanups.push(() => client.close());
  const site = await servePage(CONFIGURABLE_VIEWER_HTML);
  cleanups.push(() => site.close());
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  // The hub's side: one minter holding coturn's secret; the media backend gets its own fresh credentials.
  const minter = new TurnCredentialMinter({ urls: [turn.url], secret: turn.secret, ttlSeconds: 600 });
  return {
    turn,
    cameraUrl: cam.urlWithCredentials,
    engineUrl: engine.url,
    logs,
    defer: (fn) => cleanups.push(fn),
    play: async (creds) => {
      const viewer = await playThroughKurento({
        browser,
        pageUrl: site.url,
        client,
        cameraUrl: cam.urlWithCredentials,
        rtcConfig: { iceServers: [{ urls: [turn.url], ...creds }], iceTransportPolicy: 'relay' },
        engineTurnUrl: minter.kurentoTurnUrlFor('engine'),
      });
      cleanups.push(() => viewer.close());
      return viewer;
    },
  };
}

/** Polls the page's getStats until `pred` holds (getStats is a snapshot; there is no event for it). */
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

describe('TURN relay (coturn on loopback) with minted credentials', { concurrency: 1 }, () => {
  it(
    'Chromium in relay-only mode receives live video from the engine through coturn',
    { timeout: 90_000 },
    async (t) => {
      const r = await rig(t);
      const creds = mintTurnCredentials({ secret: r.turn.secret, user: 'alice', urls: [r.turn.url], ttlSeconds: 600 });
      const viewer = await r.play(creds);
      const s1 = await until(viewer, (s) => s.framesDecoded >= 10);
      const s2 = await until(viewer, (s) => s.framesDecoded >= s1.framesDecoded + 25);
      assert.ok(
        s2.framesDecoded > s1.framesDecoded,
        `framesDecoded grows (${s1.framesDecoded} -> ${s2.framesDecoded})`,
      );
      assert.equal(s2.frameWidth, 320);
      assert.equal(s2.connectionState, 'connected');
      // The selected pair's local side is a TURN allocation: media crossed the relay (RFC 8656 §2).
      assert.equal(s2.localCandidateType, 'relay');
      assert.ok(s2.localTypes.length > 0 && s2.localTypes.every((x) => x === 'relay'), `only relay: ${s2.localTypes}`);
      assert.deepEqual(s2.candidateErrors, []);
      // coturn's secret is nowhere in what the engine logged (it only ever saw minted credentials).
      assert.ok(!JSON.stringify(r.logs.records).includes(r.turn.secret));
      assert.ok(!JSON.stringify(r.logs.records).includes(creds.credential));
    },
  );

  for (const [name, mint] of [
    [
      'expired credentials (expiry in the past)',
      (turn: Coturn) =>
        mintTurnCredentials({
          secret: turn.secret,
          user: 'alice',
          urls: [turn.url],
          ttlSeconds: 600,
          now: Date.now() - 3_600_000,
        }),
    ],
    [
      'forged credentials (wrong secret)',
      (turn: Coturn) =>
        mintTurnCredentials({ secret: 'an-attacker-guessed-secret', user: 'alice', urls: [turn.url], ttlSeconds: 600 }),
    ],
  ] as const) {
    it(`${name}: coturn answers 401, no relay candidate, ICE has no pair, no frame`, { timeout: 90_000 }, async (t) => {
      const r = await rig(t);
      const creds = mint(r.turn);
      const viewer = await r.play(creds);
      // Gathering ends once coturn has refused the Allocate; the browser reports why (webrtc-pc §4.8.2).
      const s = await until(viewer, (x) => x.iceGatheringState === 'complete');
      assert.ok(
        s.candidateErrors.some((e) => e.errorCode === 401),
        `401 from coturn: ${JSON.stringify(s.candidateErrors)}`,
      );
      // Gathering is over and left no local candidate: without one there is no candidate pair to check
      // (RFC 8445 §6.1.2), whatever the engine sends, so ICE cannot succeed and no media can arrive.
      // (Chromium leaves iceConnectionState at 'new' in this case rather than moving to 'failed'.)
      assert.deepEqual(s.localTypes, [], 'no local candidate at all in relay-only mode');
      assert.equal(s.localCandidateType, '', 'no selected candidate pair');
      assert.equal(s.framesDecoded, 0);
      assert.ok(['new', 'failed'].includes(s.iceConnectionState), s.iceConnectionState);
      assert.notEqual(s.connectionState, 'connected');
    });
  }

  it('the engine accepts a minted setTurnUrl and refuses a malformed one without echoing it', async (t) => {
    const r = await rig(t);
    const client = await connectKurento(r.engineUrl);
    r.defer(() => client.close());
    const pipeline = await client.create('MediaPipeline');
    const webrtc = await pipeline.create('WebRtcEndpoint');
    const good = kurentoTurnUrl(mintTurnCredentials({ secret: r.turn.secret, user: 'bob', urls: [r.turn.url] }));
    // Callback form: kurento-client's promise form only traces (and swallows) setter errors.
    const setTurnUrl = (v: string): Promise<void> =>
      new Promise((resolve, reject) => webrtc.setTurnUrl(v, (err?: Error) => (err ? reject(err) : resolve())));
    await setTurnUrl(good);
    const read: string = await webrtc.getTurnUrl();
    const credential = good.split('@')[0]!.split(':').pop()!;
    assert.match(read, new RegExp(`@127\\.0\\.0\\.1:${r.turn.port}\\?transport=udp$`));
    assert.ok(!read.includes(credential), 'getTurnUrl does not echo the credential');
    await assert.rejects(setTurnUrl('no-at-sign-here'), (err: Error & { code?: number }) => {
      assert.equal(err.code, 40107); // MEDIA_OBJECT_ILLEGAL_PARAM_ERROR
      assert.ok(!err.message.includes('no-at-sign-here'));
      return true;
    });
  });
});
