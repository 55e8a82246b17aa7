import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkOffer,
  describeFailure,
  describePlayerError,
  parseBrowserMessage,
  PLAIN,
  ViewerProtocolError,
} from '../../src/hub/viewer/index.js';
import { KurentoRpcError } from '../../src/kurento/index.js';
import { CamgateError } from '../../src/util/index.js';

const LIMITS = { maxMessageBytes: 64 * 1024, maxSdpChars: 32 * 1024 };
const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=recvonly\r\n';
const CANDIDATE =
  'candidate:842163049 1 udp 1677729535 127.0.0.1 50112 typ host generation 0 ufrag sEwb network-cost 999';

function refused(data: string | Buffer, re: RegExp, id?: string): void {
  assert.throws(
    () => parseBrowserMessage(data, LIMITS),
    (e) => {
      assert.ok(e instanceof ViewerProtocolError, String(e));
      assert.equal(e.code, 'CAMGATE_VIEWER_BAD_MESSAGE');
      assert.match(e.message, re);
      assert.equal(e.streamId, id);
      return true;
    },
    typeof data === 'string' ? data.slice(0, 80) : 'buffer',
  );
}

describe('viewer messages', () => {
  describe('parseBrowserMessage', () => {
    it('accepts the four message kinds', () => {
      assert.deepEqual(parseBrowserMessage('{"type":"list"}', LIMITS), { type: 'list' });
      assert.deepEqual(parseBrowserMessage('{"type":"stop","id":"p1"}', LIMITS), { type: 'stop', id: 'p1' });
      const start = { type: 'start', id: 'p1', gateway: 'home-1', camera: 'porch', offer: OFFER };
      assert.deepEqual(parseBrowserMessage(JSON.stringify(start), LIMITS), start);
      const cand = { type: 'candidate', id: 'p1', candidate: { candidate: CANDIDATE, sdpMid: '0', sdpMLineIndex: 0 } };
      assert.deepEqual(parseBrowserMessage(Buffer.from(JSON.stringify(cand)), LIMITS), cand);
      // Firefox's upper-case transport and an mDNS address are candidates too (RFC 8839 §5.1).
      const ff = 'candidate:0 1 UDP 2122252543 3f1c9a2e-1b2c-4d5e-8f90-123456789abc.local 51234 typ host';
      assert.equal(
        (
          parseBrowserMessage(JSON.stringify({ ...cand, candidate: { candidate: ff } }), LIMITS) as {
            candidate: unknown;
          }
        ).candidate instanceof Object,
        true,
      );
    });

    it('refuses garbage, oversized and unknown messages with a sentence for the page', () => {
      refused('{', /could not read/);
      refused(Buffer.from([0xff, 0xfe, 0x00]), /could not read/);
      refused('null', /could not read/);
      refused('[]', /could not read/);
      refused('{"type":1}', /could not read/);
      refused('{"type":"release","object":"x"}', /does not know/);
      refused('{"type":"list","pad":"' + 'x'.repeat(70 * 1024) + '"}', /too large/);
    });

    it('refuses bad ids before anything acts on them', () => {
      refused('{"type":"stop","id":""}', /player id/);
      refused('{"type":"stop","id":"../../x"}', /player id/);
      refused(
        JSON.stringify({ type: 'start', id: 'p1', gateway: 'gw/..', camera: 'c', offer: OFFER }),
        /gateway id/,
        'p1',
      );
      refused(
        JSON.stringify({ type: 'start', id: 'p1', gateway: 'gw', camera: 'a b', offer: OFFER }),
        /camera id/,
        'p1',
      );
      refused(JSON.stringify({ type: 'start', id: 'p1', gateway: 'gw', camera: 'c' }), /no video offer/, 'p1');
    });

    it('refuses malformed SDP with a clear error for that player only', () => {
      const start = (offer: unknown): string =>
        JSON.stringify({ type: 'start', id: 'p9', gateway: 'g', camera: 'c', offer });
      refused(start('hello'), /not a valid session description/, 'p9');
      refused(start('v=0\r\nm=video 9 RTP 1\r\n\u0000\u0001binary'), /not a valid session description/, 'p9');
      refused(start('v=0\r\nm=audio 9 RTP 0\r\n'), /asks for no video/, 'p9');
      refused(start(`v=0\r\nm=video 9 RTP 1\r\n${'a=x\r\n'.repeat(7000)}`), /too large/, 'p9');
    });

    it('refuses hostile candidates', () => {
      const c = (candidate: unknown): string => JSON.stringify({ type: 'candidate', id: 'p1', candidate });
      for (const bad of [
        'x',
        { candidate: 'not a candidate' },
        { candidate: `${CANDIDATE}\r\na=inject` },
        { candidate: CANDIDATE + ' x'.repeat(300) },
        { candidate: CANDIDATE, sdpMLineIndex: -1 },
        { candidate: CANDIDATE, sdpMLineIndex: 1.5 },
        { candidate: CANDIDATE, sdpMid: { $ne: 1 } },
        { candidate: 'candidate:1 1 udp 1 http://x/ 1 typ host' },
      ]) {
        refused(c(bad), /invalid network candidate/, 'p1');
      }
    });
  });

  describe('checkOffer', () => {
    it('passes a well-formed offer', () => {
      assert.equal(checkOffer(OFFER, 32_768), undefined);
      assert.equal(checkOffer(OFFER.replace(/\r\n/g, '\n'), 32_768), undefined);
    });
  });

  describe('plain words', () => {
    it('maps the engine’s player errors to sentences a person understands', () => {
      const desc = (d: string) => describePlayerError({ type: 'CONNECT_ERROR', description: d });
      assert.equal(
        desc('RTSP source failed (CAMGATE_RTSP_AUTH: DESCRIBE: the camera refused the credentials (401))'),
        PLAIN.cameraAuth,
      );
      assert.equal(
        PLAIN.cameraAuth.message,
        'Camera unreachable: wrong password. The camera rejected the password configured on your gateway.',
      );
      assert.equal(desc('RTSP source failed (CAMGATE_RTSP_CONNECT: connect ECONNREFUSED)'), PLAIN.cameraUnreachable);
      assert.equal(desc('RTSP source failed (CAMGATE_RTSP_NOT_FOUND: DESCRIBE 404)'), PLAIN.cameraNotFound);
      assert.equal(desc('RTSP source failed (CAMGATE_RTSP_SDP: no H.264 track)'), PLAIN.cameraStream);
      assert.equal(desc('something else'), PLAIN.cameraFailed);
      assert.equal(describePlayerError({}), PLAIN.cameraFailed);
    });

    it('maps setup failures: gateway offline, timeouts, policy refusals, bad offers', () => {
      const closed = new CamgateError('CAMGATE_KURENTO_CLOSED', 'could not connect: 503');
      assert.equal(describeFailure(closed, 'connect'), PLAIN.gatewayOffline);
      assert.match(PLAIN.gatewayOffline.message, /^Gateway offline/);
      assert.equal(describeFailure(closed, 'setup'), PLAIN.gatewayLost);
      assert.equal(describeFailure(new CamgateError('CAMGATE_KURENTO_TIMEOUT', 't'), 'setup'), PLAIN.gatewayTimeout);
      const policy = new KurentoRpcError('create', {
        code: -32001,
        message: 'camgate policy: camera-unknown (camera x)',
      });
      assert.equal(describeFailure(policy, 'setup'), PLAIN.unknownCamera);
      const sdp = new KurentoRpcError('invoke', { code: 40208, message: 'Error processing offer: bad m-line' });
      assert.equal(describeFailure(sdp, 'offer'), PLAIN.badOffer);
      assert.equal(describeFailure(new Error('boom'), 'setup'), PLAIN.internal);
    });
  });
});
