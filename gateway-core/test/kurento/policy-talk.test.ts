/**
 * The policy's talk rules (docs/kurento-policy.md "Talking back"): a WebRtcEndpoint may connect into a camera's
 * PlayerEndpoint with mediaType AUDIO, and an SDP may send audio, only on a session the hub granted talking for
 * that camera; every other connection into a player stays refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject, JsonRpcRequest } from '../../src/kurento/jsonrpc.js';
import { resultResponse } from '../../src/kurento/jsonrpc.js';
import { KurentoPolicy, type PolicySession } from '../../src/kurento/policy.js';
import { MAX_TALK_CAMERAS, sdpSendsAudio, talkGrantFromMeta } from '../../src/kurento/policy-talk.js';
import { TEST_CAMERA_URI } from '../helpers/kurento.js';

let nextId = 1;
const req = (method: string, params: JsonObject): JsonRpcRequest => ({ jsonrpc: '2.0', id: nextId++, method, params });

const cameras = {
  resolveCameraUri: (id: string) => (id === 'cam1' || id === 'cam2' ? `${TEST_CAMERA_URI}-${id}` : undefined),
};

function check(session: PolicySession, r: JsonRpcRequest, value?: string): string | undefined {
  const v = session.check(r);
  if (v.action === 'deny') return v.rule;
  session.observeResponse(
    v.message,
    resultResponse(v.message.id, value === undefined ? { sessionId: 'S1' } : { value, sessionId: 'S1' }),
  );
  return undefined;
}

const PIPE = 'p_kurento.MediaPipeline';
const P1 = `${PIPE}/pl1_kurento.PlayerEndpoint`;
const P2 = `${PIPE}/pl2_kurento.PlayerEndpoint`;
const W = `${PIPE}/w_kurento.WebRtcEndpoint`;

/** A session owning a pipeline, players of cam1 and cam2 and one WebRTC endpoint. */
function session(talkCameras?: string[]): PolicySession {
  const s = new KurentoPolicy({ cameras }).createSession(talkCameras ? { talkCameras } : {});
  assert.equal(check(s, req('create', { type: 'MediaPipeline' }), PIPE), undefined);
  for (const [cam, id] of [
    ['cam1', P1],
    ['cam2', P2],
  ] as const) {
    const r = req('create', {
      type: 'PlayerEndpoint',
      constructorParams: { mediaPipeline: PIPE, uri: `camera://${cam}` },
    });
    assert.equal(check(s, r, id), undefined);
  }
  assert.equal(
    check(s, req('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: PIPE } }), W),
    undefined,
  );
  return s;
}

const connect = (object: string, sink: string, mediaType?: string): JsonRpcRequest =>
  req('invoke', { object, operation: 'connect', operationParams: { sink, ...(mediaType ? { mediaType } : {}) } });

const SDP = (direction: string, port = 9): string =>
  `v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio ${port} UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n` +
  `a=mid:0\r\n${direction ? `a=${direction}\r\n` : ''}a=rtpmap:111 opus/48000/2\r\n`;

describe('policy talk rules', () => {
  describe('#connect into a PlayerEndpoint', () => {
    const matrix: Array<[string, string[] | undefined, JsonRpcRequest, string | undefined]> = [
      ['viewing: player → WebRTC, no grant', undefined, connect(P1, W), undefined],
      ['viewing: player → WebRTC AUDIO, no grant', undefined, connect(P1, W, 'AUDIO'), undefined],
      ['talk without grant', undefined, connect(W, P1, 'AUDIO'), 'talk-not-granted'],
      ['talk with a grant for another camera', ['cam2'], connect(W, P1, 'AUDIO'), 'talk-not-granted'],
      ['talk with the grant', ['cam1'], connect(W, P1, 'AUDIO'), undefined],
      ['talk with the grant, VIDEO', ['cam1'], connect(W, P1, 'VIDEO'), 'talk-connect'],
      ['talk with the grant, no mediaType (all media)', ['cam1'], connect(W, P1), 'talk-connect'],
      ['player → player with the grant', ['cam1', 'cam2'], connect(P2, P1, 'AUDIO'), 'talk-connect'],
      ['player → player without grant', undefined, connect(P2, P1, 'AUDIO'), 'talk-not-granted'],
    ];
    for (const [name, grant, request, rule] of matrix) {
      it(`${rule === undefined ? 'forwards' : `refuses (${rule})`}: ${name}`, () => {
        assert.equal(check(session(grant), request), rule);
      });
    }

    it('checks newref players inside a transaction against the grant of their camera', () => {
      const s = new KurentoPolicy({ cameras }).createSession({ talkCameras: ['cam1'] });
      assert.equal(check(s, req('create', { type: 'MediaPipeline' }), PIPE), undefined);
      const tx = (cam: string): JsonRpcRequest =>
        req('transaction', {
          operations: [
            {
              jsonrpc: '2.0',
              id: 0,
              method: 'create',
              params: { type: 'PlayerEndpoint', constructorParams: { mediaPipeline: PIPE, uri: `camera://${cam}` } },
            },
            {
              jsonrpc: '2.0',
              id: 1,
              method: 'create',
              params: { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: PIPE } },
            },
            {
              jsonrpc: '2.0',
              id: 2,
              method: 'invoke',
              params: {
                object: 'newref:1',
                operation: 'connect',
                operationParams: { sink: 'newref:0', mediaType: 'AUDIO' },
              },
            },
          ],
        });
      assert.equal(s.check(tx('cam2')).action, 'deny');
      assert.equal(s.check(tx('cam1')).action, 'forward');
    });
  });

  describe('#processOffer with audio', () => {
    for (const [direction, sends] of [
      ['sendrecv', true],
      ['sendonly', true],
      ['', true], // RFC 8866 §6.7: no direction attribute means sendrecv
      ['recvonly', false],
      ['inactive', false],
    ] as const) {
      it(`${sends ? 'needs the talk grant for' : 'forwards without a grant'} an audio section ${direction || '(no direction)'}`, () => {
        const offer = req('invoke', {
          object: W,
          operation: 'processOffer',
          operationParams: { offer: SDP(direction) },
        });
        assert.equal(check(session(), offer), sends ? 'talk-not-granted' : undefined);
        const again = req('invoke', {
          object: W,
          operation: 'processOffer',
          operationParams: { offer: SDP(direction) },
        });
        assert.equal(check(session(['cam1']), again), undefined);
      });
    }

    it('refuses a sending audio answer without the grant too', () => {
      const answer = req('invoke', {
        object: W,
        operation: 'processAnswer',
        operationParams: { answer: SDP('sendonly') },
      });
      assert.equal(check(session(), answer), 'talk-not-granted');
    });
  });

  describe('sdpSendsAudio', () => {
    it('follows session-level direction and ignores disabled sections and video', () => {
      assert.equal(sdpSendsAudio(SDP('sendrecv', 0)), false, 'port 0: disabled (RFC 3264 §6)');
      assert.equal(sdpSendsAudio('v=0\r\na=recvonly\r\nm=audio 9 RTP/AVP 0\r\n'), false);
      assert.equal(sdpSendsAudio('v=0\r\na=recvonly\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\n'), true);
      assert.equal(sdpSendsAudio('v=0\r\nm=video 9 RTP/AVP 96\r\na=sendrecv\r\n'), false);
      assert.equal(sdpSendsAudio('v=0\nm=video 9 RTP/AVP 96\na=recvonly\nm=audio 9 RTP/AVP 0\n'), true);
      assert.equal(sdpSendsAudio(''), false);
    });
  });

  describe('talkGrantFromMeta', () => {
    it('reads a list of camera ids and refuses anything else', () => {
      assert.deepEqual(talkGrantFromMeta({ kind: 'kurento' }), []);
      assert.deepEqual(talkGrantFromMeta({ talk: ['cam1', 'cam1'] }), ['cam1']);
      assert.throws(() => talkGrantFromMeta({ talk: 'cam1' }), TypeError);
      assert.throws(() => talkGrantFromMeta({ talk: ['../x'] }), TypeError);
      assert.throws(() => talkGrantFromMeta({ talk: [1] }), TypeError);
      const many = Array.from({ length: MAX_TALK_CAMERAS + 1 }, (_, i) => `c${i}`);
      assert.throws(() => talkGrantFromMeta({ talk: many }), /at most 16/);
    });
  });

  it('createSession refuses a talk grant that is not a list of strings', () => {
    assert.throws(() => new KurentoPolicy({ cameras }).createSession({ talkCameras: 'cam1' as never }), TypeError);
  });
});
