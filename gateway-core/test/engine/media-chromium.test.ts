import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedRtspSources, WebRtcPeer } from '../../src/engine/media/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { startCameraSim } from '@camgate/camera-sim';
import {
  launchChromium,
  openViewerPage,
  servePage,
  VIEWER_PAGE_HTML,
  type ViewerPage,
  type ViewerStats,
} from '@camgate/test-helpers';

/**
 * The simulated 320x240 camera fed into a new WebRtcPeer, and a Chromium viewer page wired to it
 * (candidates both ways, loopback only); everything is closed after the test.
 */
async function cameraToChromium(
  t: TestContext,
  password: string,
): Promise<{ peer: WebRtcPeer; viewer: ViewerPage; log: ReturnType<typeof memorySink> }> {
  const cam = await startCameraSim({ username: 'admin', password, width: 320, height: 240, fps: 25, gopSeconds: 2 });
  t.after(() => cam.close());
  const sources = new SharedRtspSources({ rtsp: { backoff: { initialMs: 50, maxMs: 200 } } });
  t.after(() => sources.close());
  const handle = sources.acquire(cam.urlWithCredentials);
  t.after(() => handle.release());
  const log = memorySink();
  const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1', logger: createLogger('t', log) });
  t.after(() => peer.close());
  t.after(handle.subscribe((au) => peer.feed(au)));
  const site = await servePage(VIEWER_PAGE_HTML);
  t.after(() => site.close());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const viewer = await openViewerPage(browser, site.url, (c) => {
    peer.addIceCandidate(c).catch(() => undefined);
  });
  peer.on('iceCandidate', (c) => {
    viewer.addCandidate(c).catch(() => undefined);
  });
  return { peer, viewer, log };
}

describe('WebRtcPeer -> Chromium', () => {
  it(
    'Chromium decodes the simulated camera: framesDecoded grows and the picture changes',
    { timeout: 90_000 },
    async (t) => {
      const { peer, viewer } = await cameraToChromium(t, 'chromium-cam-pw');

      const offer = await viewer.offer();
      assert.doesNotMatch(offer, /profile-level-id=64/, 'Chromium 156 offers no High profile');
      const answer = await peer.processOffer(offer);
      // The answer carries exactly one H.264 payload, one the browser offered with packetization-mode=1.
      assert.equal(peer.payload?.packetizationMode, 1);
      assert.match(offer, new RegExp(`a=fmtp:${peer.payload!.payloadType} .*packetization-mode=1`));
      assert.equal(answer.match(/^a=rtpmap:\d+ H264\/90000/gm)?.length, 1);
      assert.match(answer, new RegExp(`^a=rtpmap:${peer.payload!.payloadType} H264/90000`, 'm'));
      assert.equal(peer.payload!.profileLevelId, '42e01f');
      await viewer.answer(answer);
      await peer.gatherCandidates();

      const stats = (): Promise<ViewerStats> => viewer.stats();
      const hash = (): Promise<string> => viewer.pictureHash();

      // Polled from here: page.waitForFunction does not await an async predicate.
      const untilDecoded = async (n: number): Promise<ViewerStats> => {
        for (;;) {
          const st = await stats();
          if (st.framesDecoded >= n) return st;
          await sleep(100);
        }
      };
      const s1 = await untilDecoded(10);
      const h1 = await hash();
      await untilDecoded(s1.framesDecoded + 25);
      const s2 = await stats();
      const h2 = await hash();
      assert.equal(s2.connectionState, 'connected');
      assert.ok(
        s2.framesDecoded > s1.framesDecoded,
        `framesDecoded grows (${s1.framesDecoded} -> ${s2.framesDecoded})`,
      );
      assert.equal(s2.frameWidth, 320);
      assert.equal(s2.frameHeight, 240);
      // Chromium decodes what it receives under the payload we chose (42e01f: RFC 7742 §6.2 mandatory profile).
      assert.match(s2.codec, /^video\/H264 .*profile-level-id=42e01f/i);
      assert.ok(h1.endsWith(':320x240') && h2.endsWith(':320x240'), `picture drawn (${h1}, ${h2})`);
      assert.notEqual(h1, h2, 'the picture changes');
      // RFC 3550 sender reports reach the browser (the engine sends them, not werift's RTCRtpSender).
      for (let i = 0; i < 50 && (await stats()).senderReports === 0; i++) await sleep(100);
      const s3 = await stats();
      assert.ok(s3.senderReports > 0, 'Chromium received sender reports');
      assert.ok(s3.senderPackets > 0, 'with the count of packets sent');
      // Chromium offered, so it is the DTLS server and chose the profile: AES-CM (srtp.ts).
      assert.equal(s3.srtpCipher, 'SRTP_AES128_CM_HMAC_SHA1_80');
    },
  );

  it(
    "Chromium answering the engine's offer negotiates AES-GCM and decodes what the engine encrypts",
    { timeout: 90_000 },
    async (t) => {
      // A Kurento client's generateOffer(): the engine's werift is then the DTLS server and picks AES-GCM
      // from what Chromium offers, so Chromium's own SRTP (libsrtp) checks srtp-gcm.ts.
      const { peer, viewer, log } = await cameraToChromium(t, 'gcm-cam-pw');
      await peer.processAnswer(await viewer.answerOffer(await peer.generateOffer()));
      await peer.gatherCandidates();

      let st = await viewer.stats();
      while (st.framesDecoded < 100) {
        await sleep(200);
        st = await viewer.stats();
      }
      const h1 = await viewer.pictureHash();
      await sleep(1000);
      assert.notEqual(await viewer.pictureHash(), h1, 'the picture changes');
      assert.equal(st.srtpCipher, 'SRTP_AEAD_AES_128_GCM');
      const keyed = log.records.filter((r) => r.msg === 'SRTP keyed').map((r) => r.fields.profile);
      assert.deepEqual(keyed, ['AEAD_AES_128_GCM'], "the engine's own GCM protector, not werift's sendRtp");
    },
  );
});
