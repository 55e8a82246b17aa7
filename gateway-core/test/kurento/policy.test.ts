import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject, JsonRpcRequest } from '../../src/kurento/jsonrpc.js';
import { resultResponse, errorResponse } from '../../src/kurento/jsonrpc.js';
import { KurentoPolicy, type PolicySession } from '../../src/kurento/policy.js';
import { DEFAULT_KURENTO_RULES } from '../../src/kurento/policy-rules.js';
import type { MediaTargetRules } from '../../src/kurento/policy-targets.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { testCameras, TEST_CAMERA_URI } from '../helpers/kurento.js';

let nextId = 1;
function req(method: string, params?: JsonObject): JsonRpcRequest {
  return params === undefined
    ? { jsonrpc: '2.0', id: nextId++, method }
    : { jsonrpc: '2.0', id: nextId++, method, params };
}

/** The gateway allows one STUN/TURN host; viewers must be on public addresses (the gateway's defaults). */
const MEDIA: MediaTargetRules = {
  relayAllowed: (host, port) => (host === undefined || host === 'stun.example.org') && (port ?? 3478) === 3478,
  allowLanViewers: false,
  allowRtpEndpoint: false,
};

function newPolicy() {
  const sink = memorySink();
  return {
    policy: new KurentoPolicy({ cameras: testCameras, media: MEDIA, logger: createLogger('test', sink) }),
    sink,
  };
}

/** Sends `r` through the session and, when forwarded, answers it like KMS with `value`. */
function pass(session: PolicySession, r: JsonRpcRequest, value?: string, sessionId = 'S1'): JsonRpcRequest {
  const v = session.check(r);
  assert.equal(v.action, 'forward', v.action === 'deny' ? v.response.error.message : '');
  if (v.action !== 'forward') throw new Error('unreachable');
  session.observeResponse(
    v.message,
    resultResponse(v.message.id, value === undefined ? { sessionId } : { value, sessionId }),
  );
  return v.message;
}

function denied(session: PolicySession, r: JsonRpcRequest, rule: string): string {
  const v = session.check(r);
  assert.equal(v.action, 'deny', `expected ${rule}`);
  if (v.action !== 'deny') throw new Error('unreachable');
  assert.equal(v.rule, rule);
  assert.equal(v.response.id, r.id);
  assert.equal(v.response.error.code, -32001);
  assert.match(v.response.error.message, new RegExp(`^camgate policy: ${rule} \\(.+\\)$`));
  assert.deepEqual(v.response.error.data, { code: 'CAMGATE_POLICY_DENIED', rule });
  assert.ok(!JSON.stringify(v.response).includes('Sup3rS3cretPw'));
  return v.response.error.message;
}

const PIPE = 'p1_kurento.MediaPipeline';
const PLAYER = `${PIPE}/pl_kurento.PlayerEndpoint`;
const WEBRTC = `${PIPE}/w_kurento.WebRtcEndpoint`;

/** A session that owns a pipeline, a camera player and a WebRTC endpoint. */
function viewing(session: PolicySession): void {
  pass(session, req('create', { type: 'MediaPipeline', constructorParams: {}, properties: {} }), PIPE);
  pass(
    session,
    req('create', {
      type: 'PlayerEndpoint',
      constructorParams: { mediaPipeline: PIPE, uri: 'camera://cam1' },
      sessionId: 'S1',
    }),
    PLAYER,
  );
  pass(
    session,
    req('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: PIPE }, sessionId: 'S1' }),
    WEBRTC,
  );
}

describe('KurentoPolicy', () => {
  describe('#constructor', () => {
    it('refuses options without a camera resolver', () => {
      assert.throws(() => new KurentoPolicy({} as never), /cameras: must have a resolveCameraUri/);
    });
  });

  describe('allowed viewing flow', () => {
    it('forwards pipeline, player, WebRTC, connect, SDP, ICE, events and release', () => {
      const session = newPolicy().policy.createSession();
      pass(session, req('ping', { interval: 5000 }));
      pass(session, req('ping'));
      pass(session, req('describe', { object: 'manager_ServerManager' }));
      pass(session, req('invoke', { object: 'manager_ServerManager', operation: 'getInfo' }));
      viewing(session);
      assert.equal(session.sessionId, 'S1');
      pass(
        session,
        req('invoke', { object: PLAYER, operation: 'connect', operationParams: { sink: WEBRTC }, sessionId: 'S1' }),
      );
      pass(
        session,
        req('invoke', { object: WEBRTC, operation: 'processOffer', operationParams: { offer: 'v=0\r\n' } }),
      );
      pass(session, req('subscribe', { object: WEBRTC, type: 'IceCandidateFound', sessionId: 'S1' }), 'tok');
      pass(session, req('invoke', { object: WEBRTC, operation: 'gatherCandidates' }));
      pass(
        session,
        req('invoke', {
          object: WEBRTC,
          operation: 'addIceCandidate',
          operationParams: {
            candidate: {
              __module__: 'kurento',
              __type__: 'IceCandidate',
              candidate: 'candidate:1 1 udp 2122260223 203.0.113.7 54321 typ srflx raddr 0.0.0.0 rport 0',
              sdpMid: '0',
              sdpMLineIndex: 0,
            },
          },
        }),
      );
      pass(
        session,
        req('invoke', {
          object: WEBRTC,
          operation: 'setStunServerAddress',
          operationParams: { stunServerAddress: 'stun.example.org' },
        }),
      );
      pass(session, req('invoke', { object: PLAYER, operation: 'play' }));
      pass(session, req('unsubscribe', { object: WEBRTC, subscription: 'tok' }));
      pass(session, req('describe', { object: WEBRTC }));
      assert.deepEqual(session.ownedObjects(), [PIPE, PLAYER, WEBRTC]);
      pass(session, req('release', { object: PIPE }));
      assert.deepEqual(session.ownedObjects(), [], 'releasing the pipeline drops its elements');
    });

    it('rewrites camera://ID to the real URL and canonicalises the type', () => {
      const session = newPolicy().policy.createSession();
      pass(session, req('create', { type: 'MediaPipeline' }), PIPE);
      const fwd = pass(
        session,
        req('create', {
          type: 'kurento.playerENDPOINT',
          constructorParams: { mediaPipeline: PIPE, uri: 'camera://cam1' },
        }),
        PLAYER,
      );
      assert.deepEqual(fwd.params, {
        type: 'PlayerEndpoint',
        constructorParams: { mediaPipeline: PIPE, uri: TEST_CAMERA_URI },
      });
    });

    it('does not record objects whose creation failed', () => {
      const session = newPolicy().policy.createSession();
      const v = session.check(req('create', { type: 'MediaPipeline' }));
      assert.equal(v.action, 'forward');
      if (v.action === 'forward') session.observeResponse(v.message, errorResponse(v.message.id, 40000, 'no'));
      assert.deepEqual(session.ownedObjects(), []);
    });
  });

  describe('refusals', () => {
    const cases: Array<[string, (s: PolicySession) => JsonRpcRequest, string]> = [
      [
        'invoke getUri (echoes the password)',
        () => req('invoke', { object: PLAYER, operation: 'getUri' }),
        'operation-not-allowed',
      ],
      [
        'invoke getGstreamerDot on the pipeline',
        () => req('invoke', { object: PIPE, operation: 'getGstreamerDot' }),
        'operation-not-allowed',
      ],
      [
        'invoke getGstreamerDot on an element',
        () => req('invoke', { object: WEBRTC, operation: 'getGstreamerDot' }),
        'operation-not-allowed',
      ],
      ['invoke getStats', () => req('invoke', { object: WEBRTC, operation: 'getStats' }), 'operation-not-allowed'],
      ['invoke getTurnUrl', () => req('invoke', { object: WEBRTC, operation: 'getTurnUrl' }), 'operation-not-allowed'],
      [
        'an http:// player (SSRF into the LAN)',
        () =>
          req('create', {
            type: 'PlayerEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'http://192.168.1.1/cgi-bin/reboot' },
          }),
        'player-uri',
      ],
      [
        'a file:// player (reads files)',
        () =>
          req('create', {
            type: 'PlayerEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'file:///etc/shadow' },
          }),
        'player-uri',
      ],
      [
        'an rtsp:// player (bypasses the registry)',
        () =>
          req('create', {
            type: 'PlayerEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'rtsp://u:p@10.0.0.9/' },
          }),
        'player-uri',
      ],
      [
        'camera:// with a path suffix',
        () =>
          req('create', {
            type: 'PlayerEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'camera://cam1/../x' },
          }),
        'player-uri',
      ],
      [
        'an unknown camera id',
        () =>
          req('create', { type: 'PlayerEndpoint', constructorParams: { mediaPipeline: PIPE, uri: 'camera://nope' } }),
        'camera-unknown',
      ],
      [
        'a player without uri',
        () => req('create', { type: 'PlayerEndpoint', constructorParams: { mediaPipeline: PIPE } }),
        'param-missing',
      ],
      [
        'an unknown constructor param',
        () =>
          req('create', {
            type: 'PlayerEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'camera://cam1', evil: 1 },
          }),
        'param-not-allowed',
      ],
      [
        'non-empty properties',
        () => req('create', { type: 'MediaPipeline', properties: { x: 'file:///tmp' } }),
        'param-not-allowed',
      ],
      [
        'RecorderEndpoint (writes files)',
        () =>
          req('create', {
            type: 'RecorderEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'file:///tmp/x.webm' },
          }),
        'type-not-allowed',
      ],
      [
        'HttpPostEndpoint',
        () => req('create', { type: 'HttpPostEndpoint', constructorParams: { mediaPipeline: PIPE } }),
        'type-not-allowed',
      ],
      [
        'kurento.RecorderEndpoint (qualified, odd case)',
        () => req('create', { type: 'Kurento.recorderendpoint', constructorParams: { mediaPipeline: PIPE } }),
        'type-not-allowed',
      ],
      [
        'kurento.PlayerEndpoint normalised and still checked',
        () =>
          req('create', {
            type: 'kurento.PlayerEndpoint',
            constructorParams: { mediaPipeline: PIPE, uri: 'file:///etc/passwd' },
          }),
        'player-uri',
      ],
      [
        'an abstract type',
        () => req('create', { type: 'MediaElement', constructorParams: { mediaPipeline: PIPE } }),
        'type-not-allowed',
      ],
      [
        'a pipeline this session does not own',
        () =>
          req('create', {
            type: 'WebRtcEndpoint',
            constructorParams: { mediaPipeline: 'other_kurento.MediaPipeline' },
          }),
        'object-not-owned',
      ],
      [
        'an element where a pipeline is expected',
        () => req('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: WEBRTC } }),
        'param-invalid',
      ],
      [
        'connect to a sink it does not own',
        () =>
          req('invoke', {
            object: PLAYER,
            operation: 'connect',
            operationParams: { sink: 'x/y_kurento.WebRtcEndpoint' },
          }),
        'object-not-owned',
      ],
      [
        'invoke on another session’s object',
        () => req('invoke', { object: 'other/obj_kurento.PlayerEndpoint', operation: 'play' }),
        'object-not-owned',
      ],
      [
        'release another session’s object',
        () => req('release', { object: 'other_kurento.MediaPipeline' }),
        'object-not-owned',
      ],
      [
        'describe another session’s object',
        () => req('describe', { object: 'other_kurento.MediaPipeline' }),
        'object-not-owned',
      ],
      [
        'subscribe on another session’s object',
        () => req('subscribe', { object: 'other/w_kurento.WebRtcEndpoint', type: 'IceCandidateFound' }),
        'object-not-owned',
      ],
      [
        'ServerManager getPipelines',
        () => req('invoke', { object: 'manager_ServerManager', operation: 'getPipelines' }),
        'server-manager',
      ],
      [
        'ServerManager getSessions',
        () => req('invoke', { object: 'manager_ServerManager', operation: 'getSessions' }),
        'server-manager',
      ],
      [
        'ServerManager setCameraProfiles (the engine extension only the gateway itself may call)',
        () =>
          req('invoke', {
            object: 'manager_ServerManager',
            operation: 'setCameraProfiles',
            operationParams: { cameras: [] },
          }),
        'server-manager',
      ],
      [
        'ServerManager ObjectCreated events',
        () => req('subscribe', { object: 'manager_ServerManager', type: 'ObjectCreated' }),
        'server-manager',
      ],
      ['release the ServerManager', () => req('release', { object: 'manager_ServerManager' }), 'server-manager'],
      [
        'an event type not in the list',
        () => req('subscribe', { object: PLAYER, type: 'IceCandidateFound' }),
        'event-not-allowed',
      ],
      ['an unknown method', () => req('execute', {}), 'method-not-allowed'],
      [
        'a foreign sessionId',
        () => req('invoke', { object: PLAYER, operation: 'play', sessionId: 'S2' }),
        'session-foreign',
      ],
      ['connect to an unknown session', () => req('connect', { sessionId: 'someone-else' }), 'session-foreign'],
      [
        'an unknown top-level param',
        () => req('invoke', { object: PLAYER, operation: 'play', smuggled: 'x' }),
        'param-not-allowed',
      ],
      [
        'an unknown operation param',
        () =>
          req('invoke', {
            object: WEBRTC,
            operation: 'processOffer',
            operationParams: { offer: 'v=0', uri: 'file:///' },
          }),
        'param-not-allowed',
      ],
      [
        'a STUN address with a scheme',
        () =>
          req('invoke', {
            object: WEBRTC,
            operation: 'setStunServerAddress',
            operationParams: { stunServerAddress: 'http://x/' },
          }),
        'param-invalid',
      ],
      [
        'params as an array',
        () => ({ jsonrpc: '2.0', id: nextId++, method: 'create', params: ['MediaPipeline'] }) as JsonRpcRequest,
        'malformed',
      ],
      [
        'a transaction hiding getUri',
        () =>
          req('transaction', {
            operations: [
              { jsonrpc: '2.0', id: 0, method: 'invoke', params: { object: PLAYER, operation: 'play' } },
              { jsonrpc: '2.0', id: 1, method: 'invoke', params: { object: PLAYER, operation: 'getUri' } },
            ],
          }),
        'operation-not-allowed',
      ],
      [
        'a transaction hiding a file:// player behind newref',
        () =>
          req('transaction', {
            operations: [
              { jsonrpc: '2.0', id: 0, method: 'create', params: { type: 'MediaPipeline' } },
              {
                jsonrpc: '2.0',
                id: 1,
                method: 'create',
                params: {
                  type: 'PlayerEndpoint',
                  constructorParams: { mediaPipeline: 'newref:0', uri: 'file:///etc/passwd' },
                },
              },
            ],
          }),
        'player-uri',
      ],
      [
        'a transaction with a forward newref',
        () =>
          req('transaction', {
            operations: [
              {
                jsonrpc: '2.0',
                id: 0,
                method: 'create',
                params: { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: 'newref:1' } },
              },
              { jsonrpc: '2.0', id: 1, method: 'create', params: { type: 'MediaPipeline' } },
            ],
          }),
        'object-not-owned',
      ],
      [
        'a nested transaction',
        () =>
          req('transaction', {
            operations: [{ jsonrpc: '2.0', id: 0, method: 'transaction', params: { operations: [] } }],
          }),
        'method-not-allowed',
      ],
      [
        'a transaction op with the wrong id',
        () =>
          req('transaction', {
            operations: [{ jsonrpc: '2.0', id: 5, method: 'create', params: { type: 'MediaPipeline' } }],
          }),
        'transaction',
      ],
      ['an empty transaction', () => req('transaction', { operations: [] }), 'transaction'],
    ];
    for (const [name, make, rule] of cases) {
      it(`refuses ${name}`, () => {
        const session = newPolicy().policy.createSession();
        viewing(session);
        const before = session.ownedObjects();
        denied(session, make(session), rule);
        assert.deepEqual(session.ownedObjects(), before);
      });
    }

    it('refuses notifications (Kurento clients send none)', () => {
      const session = newPolicy().policy.createSession();
      const v = session.check({ jsonrpc: '2.0', method: 'create', params: { type: 'MediaPipeline' } });
      assert.equal(v.action, 'deny');
      if (v.action === 'deny') assert.equal(v.response.id, null);
    });

    it('scopes ids per session: a second connection cannot drive the first one’s objects', () => {
      const { policy } = newPolicy();
      const a = policy.createSession();
      const b = policy.createSession();
      viewing(a);
      denied(b, req('invoke', { object: PLAYER, operation: 'play' }), 'object-not-owned');
      denied(b, req('release', { object: PIPE }), 'object-not-owned');
    });

    it('never echoes a refused URI or its credentials, and logs rule and detail only', () => {
      const { policy, sink } = newPolicy();
      const session = policy.createSession();
      viewing(session);
      const msg = denied(
        session,
        req('create', {
          type: 'PlayerEndpoint',
          constructorParams: { mediaPipeline: PIPE, uri: 'rtsp://admin:hunter22@10.1.1.1/x' },
        }),
        'player-uri',
      );
      assert.equal(msg, 'camgate policy: player-uri (only camera://ID is allowed, got scheme rtsp)');
      assert.ok(!JSON.stringify(sink.records).includes('hunter22'));
      assert.ok(sink.records.some((r) => r.fields.rule === 'player-uri'));
    });

    it('bounds the objects one session may own', () => {
      const { policy } = newPolicy();
      const session = policy.createSession();
      for (let i = 0; i < DEFAULT_KURENTO_RULES.maxObjectsPerSession; i++)
        pass(session, req('create', { type: 'MediaPipeline' }), `p${i}`);
      denied(session, req('create', { type: 'MediaPipeline' }), 'quota');
    });
  });

  describe('transactions', () => {
    it('forwards a valid transaction, rewriting inside it, and records the created ids', () => {
      const session = newPolicy().policy.createSession();
      const v = session.check(
        req('transaction', {
          operations: [
            { jsonrpc: '2.0', id: 0, method: 'create', params: { type: 'MediaPipeline' } },
            {
              jsonrpc: '2.0',
              id: 1,
              method: 'create',
              params: {
                type: 'kurento.PlayerEndpoint',
                constructorParams: { mediaPipeline: 'newref:0', uri: 'camera://cam1' },
              },
            },
            {
              jsonrpc: '2.0',
              id: 2,
              method: 'create',
              params: { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: 'newref:0' } },
            },
            {
              jsonrpc: '2.0',
              id: 3,
              method: 'invoke',
              params: { object: 'newref:1', operation: 'connect', operationParams: { sink: 'newref:2' } },
            },
          ],
        }),
      );
      assert.equal(v.action, 'forward');
      if (v.action !== 'forward') return;
      const ops = (v.message.params as { operations: Array<{ params: JsonObject }> }).operations;
      assert.deepEqual(ops[1]!.params, {
        type: 'PlayerEndpoint',
        constructorParams: { mediaPipeline: 'newref:0', uri: TEST_CAMERA_URI },
      });
      session.observeResponse(
        v.message,
        resultResponse(v.message.id, {
          value: [
            { result: { value: PIPE } },
            { result: { value: PLAYER } },
            { result: { value: WEBRTC } },
            { result: {} },
          ],
          sessionId: 'S1',
        }),
      );
      assert.deepEqual(session.ownedObjects(), [PIPE, PLAYER, WEBRTC]);
      pass(session, req('release', { object: PIPE }));
      assert.deepEqual(session.ownedObjects(), []);
    });
  });

  describe('#sanitizeResponse', () => {
    it('replaces the real URL, its credentials and any URL userinfo', () => {
      const { policy } = newPolicy();
      const session = policy.createSession();
      viewing(session);
      const res = resultResponse(1, {
        value: `uri=${TEST_CAMERA_URI} escaped=${TEST_CAMERA_URI.replaceAll('/', '\\/')} bare=Sup3rS3cretPw other=rtsp://x:y@10.0.0.1/`,
        sessionId: 'S1',
      });
      const clean = JSON.stringify(session.sanitizeResponse(res));
      assert.ok(!clean.includes('Sup3rS3cretPw'), clean);
      assert.ok(!clean.includes('admin:'), clean);
      assert.ok(!clean.includes('x:y@'), clean);
      assert.ok(clean.includes('uri=camera://cam1 '), clean);
    });
    it('scrubs error messages and event data, across sessions of the same policy', () => {
      const { policy } = newPolicy();
      const a = policy.createSession();
      viewing(a);
      const b = policy.createSession();
      const err = b.sanitizeResponse(errorResponse(3, 40000, `Error opening ${TEST_CAMERA_URI}`));
      assert.equal('error' in err && err.error.message, 'Error opening camera://cam1');
      const ev = b.sanitizeNotification({
        jsonrpc: '2.0',
        method: 'onEvent',
        params: { value: { type: 'Error', object: PLAYER, data: { description: TEST_CAMERA_URI } } },
      });
      assert.ok(!JSON.stringify(ev).includes('Sup3rS3cretPw'));
    });
    it('keeps a __proto__ key a plain key', () => {
      const { policy } = newPolicy();
      const s = policy.createSession();
      const hostile = JSON.parse('{"jsonrpc":"2.0","id":1,"result":{"__proto__":{"polluted":1}}}');
      const out = s.sanitizeResponse(hostile) as unknown as { result: Record<string, unknown> };
      assert.equal(Object.getPrototypeOf(out.result), Object.prototype);
      assert.deepEqual(Object.keys(out.result), ['__proto__']);
    });
  });

  describe('ping', () => {
    it("accepts the session's own sessionId and refuses a foreign one (Java client pings with it)", () => {
      const { policy } = newPolicy();
      const session = policy.createSession();
      viewing(session);
      pass(session, req('ping', { interval: 120_000, sessionId: 'S1' }));
      pass(session, req('ping', { sessionId: 'S1' }));
      denied(session, req('ping', { sessionId: 'S2' }), 'session-foreign');
      denied(session, req('ping', { sessionId: 'S1', extra: 1 }), 'param-not-allowed');
    });
    it('refuses a sessionId on ping before the backend named the session', () => {
      const session = newPolicy().policy.createSession();
      denied(session, req('ping', { sessionId: 'S1' }), 'session-foreign');
    });
  });

  describe('session resumption', () => {
    it('lets connect resume a session this policy saw, with its objects, once its connection is gone', () => {
      const { policy } = newPolicy();
      const first = policy.createSession();
      viewing(first);
      first.close(); // the relay ended: the tunnel or the client's socket dropped
      const second = policy.createSession();
      pass(second, req('connect', { sessionId: 'S1' }), undefined, 'S1');
      assert.equal(second.sessionId, 'S1');
      pass(second, req('invoke', { object: PLAYER, operation: 'play', sessionId: 'S1' }));
    });

    it('refuses to resume a session whose own connection is still open (a learned sessionId is not enough)', () => {
      const { policy } = newPolicy();
      const victim = policy.createSession();
      viewing(victim);
      const intruder = policy.createSession();
      denied(intruder, req('connect', { sessionId: 'S1' }), 'session-foreign');
      denied(intruder, req('invoke', { object: PLAYER, operation: 'play', sessionId: 'S1' }), 'session-foreign');
      assert.equal(intruder.sessionId, undefined);
      // The victim's own connection may still name its session.
      pass(victim, req('connect', { sessionId: 'S1' }), undefined, 'S1');
      // After a resume, the new holder is protected the same way against the next intruder.
      victim.close();
      const back = policy.createSession();
      pass(back, req('connect', { sessionId: 'S1' }), undefined, 'S1');
      denied(policy.createSession(), req('connect', { sessionId: 'S1' }), 'session-foreign');
    });

    it('lets a request name a session of this gateway after connect got INVALID_SESSION (media backend restarted)', () => {
      const { policy } = newPolicy();
      const first = policy.createSession();
      viewing(first);
      first.close(); // its relay ended when the backend went away
      const second = policy.createSession();
      // kurento-client: connect {S1} → 40007 from the restarted backend; it keeps S1 for its next requests.
      const v = second.check(req('connect', { sessionId: 'S1' }));
      assert.equal(v.action, 'forward');
      if (v.action !== 'forward') return;
      second.observeResponse(v.message, {
        jsonrpc: '2.0',
        id: v.message.id,
        error: { code: 40007, message: 'Invalid session' },
      });
      assert.equal(second.sessionId, undefined);
      denied(
        second,
        req('create', { type: 'MediaPipeline', constructorParams: {}, sessionId: 'S9' }),
        'session-foreign',
      );
      pass(second, req('create', { type: 'MediaPipeline', constructorParams: {}, sessionId: 'S1' }), 'P2');
      assert.equal(second.sessionId, 'S1');
      assert.deepEqual(second.ownedObjects().slice(0, 2).sort(), ['P2', PIPE].sort(), 'the session, old and new');
      denied(second, req('ping', { sessionId: 'S2' }), 'session-foreign');
    });
  });
});
