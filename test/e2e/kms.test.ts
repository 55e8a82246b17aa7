/**
 * camgate in front of the real Kurento Media Server 7.3 (the paper's own media
 * server; prebuilt in ../shared/kms, see test/e2e/helpers/kms.ts): a simulated
 * RTSP camera with a password, KMS as the gateway's media backend, the real
 * hub and tunnel (through a TcpProxy that can cut it), the official
 * kurento-client in strict mode at the hub's Kurento endpoint, and Chromium as
 * the viewer. ARCHITECTURE.md "The control path" §3 (what KMS does with
 * nothing in front of it) and §4 (persistence).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { startCameraSim, type CameraSim } from '@camgate/camera-sim';
import {
  launchChromium,
  servePage,
  CONFIGURABLE_VIEWER_HTML,
  waitUntil,
  unmaskClientStream,
  startStack,
  GATEWAY_SECRET,
  type Stack,
} from '@camgate/test-helpers';
import { kmsMissing, requireKms, startKms, withKmsLog, type Kms } from './helpers/kms.js';
import { keepsDecoding, LOOPBACK, playCamera, selectedPair, until } from './helpers/kms-viewer.js';
import {
  asError,
  callCb,
  connect,
  createCb,
  iceCandidatesFromKms,
  rawSession,
  refusedByPolicy,
  startFrameRecorder,
  type FrameRecorder,
  type Kc,
} from './helpers/kurento-wire.js';

const CAM = { id: 'porch', name: 'Porch', username: 'admin', password: 'kms-e2e-Cam-pw-4Rt8' };

describe('camgate with the real Kurento Media Server 7.3', { concurrency: 1, timeout: 600_000 }, () => {
  let kms: Kms;
  let cam: CameraSim;
  let stack: Stack;
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };
  let recorder: FrameRecorder;

  before(async () => {
    // Without ../shared/kms, set nothing up: every test below then fails with the reason (a failure, not a
    // hook error that node:test would count as "cancelled").
    if (kmsMissing()) return;
    kms = await startKms({ redact: [CAM.password] });
    cam = await startCameraSim({
      username: CAM.username,
      password: CAM.password,
      width: 320,
      height: 240,
      fps: 25,
      gopSeconds: 1,
    });
    stack = await startStack({
      cameras: [{ ...CAM, url: cam.url }],
      gateway: { mediaBackendUrl: kms.url, tunnel: { backoff: { initialMs: 50, maxMs: 250 } } },
    });
    // Every frame between kurento-client and the hub's Kurento endpoint, both ways.
    recorder = await startFrameRecorder(stack.kurentoUrl);
    site = await servePage(CONFIGURABLE_VIEWER_HTML);
    browser = await launchChromium();
  });

  after(async () => {
    // What camgate itself said about running on KMS (warnings and errors), for the report.
    const said = new Map<string, number>();
    for (const r of stack?.logs ?? []) {
      if (r.level !== 'warn' && r.level !== 'error') continue;
      const k = `${r.level} ${r.component}: ${r.msg}${r.fields.rule ? ` (${String(r.fields.rule)})` : ''}`;
      said.set(k, (said.get(k) ?? 0) + 1);
    }
    if (said.size > 0) console.log([...said].map(([k, n]) => `camgate logged: ${k} ×${n}`).join('\n'));
    await browser?.close();
    await site?.close();
    await recorder?.close();
    await stack?.close();
    await cam?.close();
    await kms?.close();
  });

  it('kurento-client (strict) at the hub plays camera://porch on KMS; Chromium decodes for 20 s', async (t) => {
    requireKms();
    await withKmsLog(kms, async () => {
      const client = await connect(recorder.url);
      const cleanups: (() => unknown)[] = [() => client.close()];
      t.after(async () => {
        for (const c of cleanups.reverse()) await c();
      });
      const info = await (await client.getServerManager()).getInfo();
      t.diagnostic(
        `media backend: ${info.type} ${info.version}, modules ${info.modules.map((m: { name: string }) => m.name)}`,
      );
      assert.equal(info.version, '7.3.0', 'the real KMS answers through hub, tunnel and gateway');
      const started = performance.now();
      const viewer = await playCamera(browser, site.url, client, `camera://${CAM.id}`);
      cleanups.push(() => viewer.close());
      // Reported, not asserted (no wall-clock assertions): when KMS answered the camera's RTSP PLAY, when ICE
      // and DTLS connected, and when Chromium decoded the first frame.
      const marks: Record<string, number> = {};
      const mark = (name: string, cond: boolean): void => {
        if (cond && marks[name] === undefined) marks[name] = Math.round(performance.now() - started);
      };
      const first = await until(
        viewer,
        'first decoded frame',
        (s) => {
          mark('camera playing', cam.stats.playing > 0);
          mark('connected', s.connectionState === 'connected');
          mark('first frame', s.framesDecoded > 0);
          return s.framesDecoded > 0;
        },
        60_000,
      );
      t.diagnostic(`setup steps, ms: ${JSON.stringify(viewer.steps)}; then ${JSON.stringify(marks)}`);
      assert.equal(first.connectionState, 'connected');
      const pair = await selectedPair(viewer);
      t.diagnostic(`ICE pair: ${JSON.stringify(pair)}`);
      assert.ok(LOOPBACK.test(pair.local) && LOOPBACK.test(pair.remote), `media on loopback: ${JSON.stringify(pair)}`);
      const kmsCandidates = iceCandidatesFromKms(recorder.frames);
      t.diagnostic(`KMS offered: ${kmsCandidates.join(' | ')}`);
      assert.ok(kmsCandidates.length > 0, 'KMS trickled its candidates through the tunnel');
      for (const c of kmsCandidates) assert.match(c.split(' ')[4]!, LOOPBACK, `KMS candidate on loopback: ${c}`);
      await until(viewer, 'steady decoding', (s) => s.framesDecoded >= 25, 30_000);
      const samples = await keepsDecoding(viewer, 4, 5_000);
      const last = await viewer.stats();
      t.diagnostic(`framesDecoded every 5 s for 20 s: ${samples.join(' ')}; ${last.frameWidth}x${last.frameHeight}`);
      t.diagnostic(`KMS RSS with one viewer: ${kms.rssMb()} MB`);
      assert.equal(last.frameWidth, 320);
      assert.equal(last.frameHeight, 240);
      assert.ok(cam.stats.sessions >= 1, 'KMS pulled the camera over RTSP');
    });
  });

  it('the policy holds against KMS: every probe is refused and the camera password reaches no one', async (t) => {
    requireKms();
    await withKmsLog(kms, async () => {
      // A web server on loopback stands for a LAN host: if KMS fetched an http:// player, it would see it.
      const lanHits: string[] = [];
      const lan = createServer((req, res) => {
        lanHits.push(`${req.method} ${req.url}`);
        res.writeHead(404).end();
      });
      await new Promise<void>((ok) => lan.listen(0, '127.0.0.1', () => ok()));
      const lanUrl = `http://127.0.0.1:${(lan.address() as AddressInfo).port}/lan-host`;
      const a = await connect(recorder.url);
      const b = await connect(recorder.url);
      t.after(async () => {
        a.close();
        b.close();
        await new Promise<void>((ok) => lan.close(() => ok()));
      });
      const framesBefore = recorder.frames.length;
      const pipeline = await a.create('MediaPipeline');
      const player = await pipeline.create('PlayerEndpoint', { uri: `camera://${CAM.id}` });
      await player.play();
      const refusals: string[] = [];
      refusals.push(await refusedByPolicy('getUri on the camera player', callCb(player, 'getUri')));
      refusals.push(await refusedByPolicy('getGstreamerDot on the pipeline', callCb(pipeline, 'getGstreamerDot')));
      refusals.push(
        await refusedByPolicy('getElementGstreamerDot on the player', callCb(player, 'getElementGstreamerDot')),
      );
      refusals.push(await refusedByPolicy('an http:// player', createCb(pipeline, 'PlayerEndpoint', { uri: lanUrl })));
      refusals.push(
        await refusedByPolicy('a file:// player', createCb(pipeline, 'PlayerEndpoint', { uri: 'file:///etc/passwd' })),
      );
      refusals.push(
        await refusedByPolicy(
          'a RecorderEndpoint to file://',
          createCb(pipeline, 'RecorderEndpoint', { uri: `file://${kms.workdir}/recorded.webm` }),
        ),
      );
      refusals.push(
        await refusedByPolicy(
          'the qualified type kurento.PlayerEndpoint with an rtsp:// uri',
          createCb(pipeline, 'kurento.PlayerEndpoint', { uri: cam.url }),
        ),
      );
      // A second connection: kurento-client first describes the object, which the policy already refuses…
      refusals.push(
        await refusedByPolicy(
          'a second kurento-client describing the first one’s player',
          b.getMediaobjectById(player.id),
        ),
      );
      // …and by hand, invoking on and releasing the first connection's objects by id.
      const other = await rawSession(recorder.url);
      t.after(() => other.close());
      const sessionId = (await other.call('ping', { interval: 240_000 })).result?.sessionId;
      for (const [what, method, params] of [
        [
          'a second connection invoking getUri on the first one’s player',
          'invoke',
          { object: player.id, operation: 'getUri' },
        ],
        [
          'a second connection invoking stop on the first one’s player',
          'invoke',
          { object: player.id, operation: 'stop' },
        ],
        ['a second connection releasing the first one’s pipeline', 'release', { object: pipeline.id }],
      ] as const) {
        refusals.push(await refusedByPolicy(what, asError(other.call(method, { ...params, sessionId }))));
      }
      t.diagnostic(`refused: ${refusals.join('; ')}`);
      assert.deepEqual(lanHits, [], 'KMS fetched nothing from the LAN web server');
      // On KMS itself (a direct connection: KMS lets any connection see any object), the pipeline still holds
      // the camera player alone: no refused element was created, nothing was released or stopped.
      const direct = await connect(kms.url);
      t.after(() => direct.close());
      const onKms = await direct.getMediaobjectById(pipeline.id);
      const children = (await onKms.getChildren()) as { id: string }[];
      assert.deepEqual(
        children.map((c) => c.id),
        [player.id],
      );
      await pipeline.release();

      // Every frame kurento-client sent and received through the hub, and everything the hub received.
      const seen = recorder.frames.slice(framesBefore);
      assert.ok(
        seen.some((f) => f.dir === 'down' && f.text.includes('CAMGATE_POLICY_DENIED')),
        'the recording holds the refusals',
      );
      const toClient = recorder.frames
        .filter((f) => f.dir === 'down')
        .map((f) => f.text)
        .join('\n');
      const toHub = unmaskClientStream(stack.proxy.upstreamBytes).toString('latin1');
      assert.ok(
        toHub.includes('IceCandidateFound') || toHub.includes('PlayerEndpoint'),
        'the tunnel recording was decoded',
      );
      // The hub learns camera ids, never LAN addresses (ARCHITECTURE.md "The control path" §1).
      const cameraAddress = new URL(cam.url).host + new URL(cam.url).pathname;
      for (const [name, text] of [
        ['kurento-client', toClient],
        ['the hub (tunnel bytes)', toHub],
        ['the logs', JSON.stringify(stack.logs)],
      ] as const) {
        assert.equal(text.includes(CAM.password), false, `${name} received the camera password`);
        assert.equal(text.includes(GATEWAY_SECRET), false, `${name} received the gateway secret`);
      }
      for (const [name, text] of [
        ['kurento-client', toClient],
        ['the hub (tunnel bytes)', toHub],
      ] as const) {
        assert.equal(text.includes(cameraAddress), false, `${name} received the camera address`);
      }
      assert.ok(cam.stats.sessions >= 1);
    });
  });

  it('tunnel cut: video keeps playing, the session resumes and answers, frames keep decoding after', async (t) => {
    requireKms();
    await withKmsLog(kms, async () => {
      const client = await connect(recorder.url);
      const cleanups: (() => unknown)[] = [() => client.close()];
      t.after(async () => {
        for (const c of cleanups.reverse()) await c();
      });
      const viewer = await playCamera(browser, site.url, client, `camera://${CAM.id}`);
      const { pipeline, webrtc } = viewer;
      cleanups.push(() => viewer.close());
      await until(viewer, 'steady decoding', (s) => s.framesDecoded >= 25, 60_000);
      const accepted = stack.proxy.accepted;
      const channels = stack.gateway.activeChannels;
      const released: unknown[] = [];
      const onReleased = (e: unknown): number => released.push(e);
      stack.gateway.on('released', onReleased);
      cleanups.push(() => stack.gateway.off('released', onReleased));

      const down = once(stack.gateway, 'state');
      stack.proxy.sever();
      assert.equal((await down)[0], 'reconnecting');
      const cutAt = (await viewer.stats()).framesDecoded;
      // A request made during the cut waits in the hub's detached channel and is answered after it.
      const duringCut = webrtc.getMediaState();
      await sleep(4_000);
      assert.equal(stack.gateway.tunnelState, 'reconnecting', 'the cut held: no tunnel while severed');
      const inCut = (await viewer.stats()).framesDecoded;
      t.diagnostic(`framesDecoded during the 4 s cut: ${cutAt} -> ${inCut} (media does not cross the tunnel)`);
      // ARCHITECTURE.md §4: media already flowing keeps flowing (KMS → Chromium directly, not through the tunnel).
      assert.ok(inCut > cutAt, `video kept decoding during the cut: ${cutAt} -> ${inCut}`);
      stack.proxy.restore();
      await waitUntil(() => stack.gateway.tunnelState === 'connected', 'the tunnel back', 30_000);
      assert.ok(stack.proxy.accepted > accepted, 'the gateway dialled the hub again');
      assert.equal(stack.gateway.activeChannels, channels, 'the same relay carried on: no new Kurento connection');

      assert.equal(await duringCut, 'CONNECTED', 'the request made during the cut was answered by KMS');
      assert.equal(await webrtc.getMediaState(), 'CONNECTED', 'the WebRTC endpoint made before the cut answers');
      // The session is still the viewer's own: it may add to its pipeline, and the policy still fences it.
      const extra = await pipeline.create('WebRtcEndpoint');
      await extra.release();
      await refusedByPolicy('getUri after the resume', callCb(viewer.player, 'getUri'));
      assert.deepEqual(released, [], 'the gateway released nothing of the resumed session');
      const samples = await keepsDecoding(viewer, 2, 5_000);
      t.diagnostic(`framesDecoded after the resume, every 5 s: ${samples.join(' ')}`);
      assert.ok(samples[0]! >= inCut);
    });
  });

  it('KMS with nothing in front of it (no gateway) exposes what the policy closes', async (t) => {
    requireKms();
    await withKmsLog(kms, async () => {
      // Why the fence matters, as assertions about KMS 7.3's own behaviour (ARCHITECTURE.md §3).
      const lanHits: string[] = [];
      const lan = createServer((req, res) => {
        lanHits.push(`${req.method} ${req.url}`);
        res.writeHead(404).end();
      });
      await new Promise<void>((ok) => lan.listen(0, '127.0.0.1', () => ok()));
      const a = await connect(kms.url);
      const b = await connect(kms.url);
      const made: { pipeline?: Kc } = {};
      t.after(async () => {
        await made.pipeline?.release().catch(() => undefined);
        a.close();
        b.close();
        await new Promise<void>((ok) => lan.close(() => ok()));
      });
      const pipeline = (made.pipeline = await a.create('MediaPipeline'));
      const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
      await player.play();
      // getUri hands back the camera URL with its password.
      const uri = String(await player.getUri());
      assert.equal(uri, cam.urlWithCredentials);
      assert.ok(uri.includes(CAM.password), 'KMS getUri returns the camera password');
      // The pipeline's GStreamer dot graph carries it too.
      const dot = String(await pipeline.getGstreamerDot());
      assert.ok(dot.includes(CAM.password), 'KMS getGstreamerDot contains the camera password');
      // Another connection reaches the first one's player by id and reads the password as well.
      const theirs = await b.getMediaobjectById(player.id);
      assert.equal(await theirs.getUri(), cam.urlWithCredentials, 'a second connection reads the first one’s URI');
      // An http:// player makes KMS fetch a URL of the caller's choosing on play: a request forger in the LAN.
      const lanUrl = `http://127.0.0.1:${(lan.address() as AddressInfo).port}/forged`;
      const fetcher = await pipeline.create('PlayerEndpoint', { uri: lanUrl });
      await fetcher.play();
      await waitUntil(() => lanHits.length > 0, 'KMS to fetch the http:// player URL', 20_000, 100);
      assert.match(lanHits[0]!, /^GET \/forged$/);
      // file:// players and recorders are accepted (read and write files on the media host).
      const file = await createCb(pipeline, 'PlayerEndpoint', { uri: 'file:///etc/hostname' });
      assert.match(file.id, /PlayerEndpoint$/);
      const rec = await createCb(pipeline, 'RecorderEndpoint', { uri: `file://${kms.workdir}/recorded.webm` });
      assert.match(rec.id, /RecorderEndpoint$/);
      // The qualified type name works like the short one.
      const raw = await rawSession(kms.url);
      t.after(() => raw.close());
      const q = await raw.call('create', {
        type: 'kurento.PlayerEndpoint',
        constructorParams: { mediaPipeline: pipeline.id, uri: cam.url },
        properties: {},
      });
      assert.equal(q.error, undefined, JSON.stringify(q.error));
      assert.match(String(q.result?.value), /PlayerEndpoint$/);
      t.diagnostic(
        `KMS alone: getUri → camera URL with password; dot graph ${dot.length} chars with it; second connection reads it; http:// player fetched ${lanHits[0]}; file:// player and recorder created; kurento.PlayerEndpoint created`,
      );
    });
  });
});
