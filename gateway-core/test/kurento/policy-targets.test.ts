/**
 * The media-target rules: what a hub can no longer make the home send
 * traffic to (issue 12 finding 2). Each case is the request a compromised hub
 * sent in the attack run, checked against the policy the gateway builds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject, JsonRpcRequest } from '../../src/kurento/jsonrpc.js';
import { resultResponse } from '../../src/kurento/jsonrpc.js';
import { KurentoPolicy, type PolicySession } from '../../src/kurento/policy.js';
import {
  parseMediaTarget,
  parseRelayUri,
  targetListAllows,
  type MediaTargetRules,
} from '../../src/kurento/policy-targets.js';
import { gatewayMediaRules } from '../../src/gateway/media-targets.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { testCameras } from '../helpers/kurento.js';

let nextId = 1;
const req = (method: string, params: JsonObject): JsonRpcRequest => ({ jsonrpc: '2.0', id: nextId++, method, params });

const PIPE = 'p1_kurento.MediaPipeline';
const WEBRTC = `${PIPE}/w_kurento.WebRtcEndpoint`;
const RTP = `${PIPE}/r_kurento.RtpEndpoint`;
const TURN_CRED = 'expiry123:user:Zm9vYmFyLWNyZWRlbnRpYWw=';

/** Rules as a gateway with hub `hub.example.com` and one advertised TURN server `turn.example.com:3478` has them. */
function rules(over: Partial<MediaTargetRules> = {}): MediaTargetRules {
  const list = [
    { host: 'hub.example.com', port: undefined },
    { host: 'turn.example.com', port: 3478 },
  ];
  return {
    relayAllowed: (h, p) => targetListAllows(list, h, p),
    allowLanViewers: false,
    allowRtpEndpoint: false,
    ...over,
  };
}

function session(media: MediaTargetRules = rules()): PolicySession {
  const policy = new KurentoPolicy({ cameras: testCameras, media, logger: createLogger('test', memorySink()) });
  const s = policy.createSession();
  const created = (r: JsonRpcRequest, value: string): void => {
    const v = s.check(r);
    assert.equal(v.action, 'forward');
    if (v.action === 'forward') s.observeResponse(v.message, resultResponse(v.message.id, { value, sessionId: 'S1' }));
  };
  created(req('create', { type: 'MediaPipeline' }), PIPE);
  created(req('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: PIPE } }), WEBRTC);
  return s;
}

function verdict(s: PolicySession, r: JsonRpcRequest): { action: string; rule?: string; text: string } {
  const v = s.check(r);
  return v.action === 'deny'
    ? { action: 'deny', rule: v.rule, text: JSON.stringify(v.response) }
    : { action: 'forward', text: JSON.stringify(v.message) };
}

function expectDenied(s: PolicySession, r: JsonRpcRequest, rule: string): string {
  const v = verdict(s, r);
  assert.equal(v.action, 'deny', `expected ${rule}: ${JSON.stringify(r.params)}`);
  assert.equal(v.rule, rule, v.text);
  return v.text;
}

function expectForwarded(s: PolicySession, r: JsonRpcRequest): void {
  const v = verdict(s, r);
  assert.equal(v.action, 'forward', v.text);
}

const invoke = (object: string, operation: string, operationParams: JsonObject): JsonRpcRequest =>
  req('invoke', { object, operation, operationParams });
const candidate = (line: string): JsonRpcRequest =>
  invoke(WEBRTC, 'addIceCandidate', {
    candidate: { __module__: 'kurento', __type__: 'IceCandidate', candidate: line, sdpMid: '0', sdpMLineIndex: 0 },
  });
const hostCandidate = (addr: string, transport = 'udp'): string =>
  `candidate:842163049 1 ${transport} 2122260223 ${addr} 51234 typ host generation 0`;

describe('media targets', () => {
  describe('setTurnUrl', () => {
    it('refuses TCP TURN to a LAN or loopback port (the port scan) without echoing the credential', () => {
      const s = session();
      for (const target of [
        '192.168.1.1:22?transport=tcp',
        '127.0.0.1:6379?transport=tcp',
        '[fe80::1]:80?transport=tcp',
      ]) {
        const text = expectDenied(
          s,
          invoke(WEBRTC, 'setTurnUrl', { turnUrl: `${TURN_CRED}@${target}` }),
          'target-not-allowed',
        );
        assert.ok(!text.includes('Zm9vYmFy'), 'the TURN credential is not echoed');
      }
    });

    it('refuses a public host the gateway did not allow, and an allowed host on another port', () => {
      const s = session();
      expectDenied(s, invoke(WEBRTC, 'setTurnUrl', { turnUrl: `${TURN_CRED}@203.0.113.9:3478` }), 'target-not-allowed');
      expectDenied(
        s,
        invoke(WEBRTC, 'setTurnUrl', { turnUrl: `${TURN_CRED}@turn.example.com:25?transport=tcp` }),
        'target-not-allowed',
      );
    });

    it('forwards the advertised TURN server (any transport), the hub host on any port, and the empty URL', () => {
      const s = session();
      for (const target of [
        'turn.example.com:3478',
        'TURN.example.com:3478?transport=tcp',
        'turn.example.com',
        'hub.example.com:443?transport=tls',
      ]) {
        expectForwarded(s, invoke(WEBRTC, 'setTurnUrl', { turnUrl: `${TURN_CRED}@${target}` }));
      }
      expectForwarded(s, invoke(WEBRTC, 'setTurnUrl', { turnUrl: '' }));
    });

    it('refuses malformed TURN URLs and the same request inside a transaction', () => {
      const s = session();
      for (const turnUrl of ['turn.example.com:3478', 'u:p@', 'u:p@turn.example.com:3478/x', 'u:p@a b', 42]) {
        expectDenied(s, invoke(WEBRTC, 'setTurnUrl', { turnUrl } as JsonObject), 'param-invalid');
      }
      expectDenied(
        s,
        req('transaction', {
          operations: [
            {
              jsonrpc: '2.0',
              id: 0,
              method: 'invoke',
              params: {
                object: WEBRTC,
                operation: 'setTurnUrl',
                operationParams: { turnUrl: `${TURN_CRED}@10.0.0.1:22?transport=tcp` },
              },
            },
          ],
        }),
        'target-not-allowed',
      );
    });
  });

  describe('setStunServerAddress / setStunServerPort', () => {
    it('refuses STUN to an arbitrary host or port, forwards allowed ones', () => {
      const s = session();
      for (const host of ['192.168.1.10', '8.8.8.8', 'victim.example.net']) {
        expectDenied(s, invoke(WEBRTC, 'setStunServerAddress', { stunServerAddress: host }), 'target-not-allowed');
      }
      expectDenied(s, invoke(WEBRTC, 'setStunServerAddress', { stunServerAddress: 'http://x/' }), 'param-invalid');
      expectForwarded(s, invoke(WEBRTC, 'setStunServerAddress', { stunServerAddress: 'turn.example.com' }));
      expectForwarded(s, invoke(WEBRTC, 'setStunServerPort', { stunServerPort: 3478 }));
      // hub.example.com is allowed on any port, so any port number is some allowed relay's port.
      const strict = session(
        rules({ relayAllowed: (h, p) => targetListAllows([{ host: 'turn.example.com', port: 3478 }], h, p) }),
      );
      expectDenied(strict, invoke(WEBRTC, 'setStunServerPort', { stunServerPort: 53 }), 'target-not-allowed');
      expectDenied(strict, invoke(WEBRTC, 'setStunServerPort', { stunServerPort: 0 }), 'param-invalid');
    });
  });

  describe('addIceCandidate', () => {
    it('refuses loopback, private, link-local and mDNS candidates unless LAN viewers are allowed', () => {
      const s = session();
      const lan = [
        '127.0.0.1',
        '10.0.0.5',
        '172.20.1.1',
        '192.168.1.50',
        '100.64.3.4',
        '169.254.1.1',
        'fe80::1',
        'fd00::7',
        '::ffff:192.168.1.1',
      ];
      for (const addr of lan) expectDenied(s, candidate(hostCandidate(addr)), 'lan-address');
      expectDenied(s, candidate(hostCandidate('192.168.1.50', 'tcp') + ' tcptype passive'), 'lan-address');
      expectDenied(s, candidate(hostCandidate('5b0e6a51-9a41-4b8e-8d5c-2f0c8f6b1e11.local')), 'lan-address');
      const home = session(rules({ allowLanViewers: true }));
      for (const addr of lan) expectForwarded(home, candidate(hostCandidate(addr)));
      expectForwarded(home, candidate(hostCandidate('5b0e6a51-9a41-4b8e-8d5c-2f0c8f6b1e11.local')));
    });

    it('forwards public candidates and end-of-candidates; refuses names, unspecified, multicast and garbage', () => {
      const s = session();
      expectForwarded(s, candidate(hostCandidate('203.0.113.7')));
      expectForwarded(s, candidate('candidate:1 1 udp 41885439 198.51.100.4 3478 typ relay raddr 192.168.1.2 rport 5'));
      expectForwarded(s, candidate(hostCandidate('2001:db8::5')));
      expectForwarded(s, candidate(''));
      const home = session(rules({ allowLanViewers: true }));
      for (const addr of ['attacker-controlled.example', '0.0.0.0', '224.0.0.251', '255.255.255.255']) {
        expectDenied(home, candidate(hostCandidate(addr)), 'target-not-allowed');
      }
      expectDenied(s, candidate('candidate:1'), 'param-invalid');
      expectDenied(s, invoke(WEBRTC, 'addIceCandidate', { candidate: { candidate: 5 } }), 'param-invalid');
    });
  });

  describe('processOffer / processAnswer SDP addresses', () => {
    const sdp = (c: string, cand?: string): string =>
      [
        'v=0',
        'o=- 1 2 IN IP4 127.0.0.1',
        's=-',
        't=0 0',
        'm=video 9 UDP/TLS/RTP/SAVPF 96',
        `c=${c}`,
        'a=rtcp:9 IN IP4 0.0.0.0',
      ]
        .concat(cand ? [`a=${cand}`] : [])
        .join('\r\n') + '\r\n';

    it('refuses LAN c= and a=candidate addresses by default, forwards JSEP 0.0.0.0 and public ones', () => {
      const s = session();
      expectDenied(s, invoke(WEBRTC, 'processOffer', { offer: sdp('IN IP4 192.168.1.50') }), 'lan-address');
      expectDenied(
        s,
        invoke(WEBRTC, 'processAnswer', { answer: sdp('IN IP4 0.0.0.0', hostCandidate('10.1.1.1')) }),
        'lan-address',
      );
      expectDenied(s, invoke(WEBRTC, 'processOffer', { offer: sdp('IN IP4 lan-host.example') }), 'target-not-allowed');
      expectDenied(
        s,
        invoke(WEBRTC, 'processOffer', {
          offer: sdp('IN IP4 0.0.0.0').replace('a=rtcp:9 IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 10.0.0.1'),
        }),
        'lan-address',
      );
      expectForwarded(s, invoke(WEBRTC, 'processOffer', { offer: sdp('IN IP4 0.0.0.0') }));
      expectForwarded(s, invoke(WEBRTC, 'processOffer', { offer: sdp('IN IP6 ::', hostCandidate('203.0.113.7')) }));
      expectForwarded(s, invoke(WEBRTC, 'processOffer', { offer: sdp('IN IP4 203.0.113.7') }));
      const home = session(rules({ allowLanViewers: true }));
      expectForwarded(
        home,
        invoke(WEBRTC, 'processOffer', { offer: sdp('IN IP4 192.168.1.50', hostCandidate('127.0.0.1')) }),
      );
    });
  });

  describe('RtpEndpoint', () => {
    const createRtp = (): JsonRpcRequest =>
      req('create', { type: 'kurento.RtpEndpoint', constructorParams: { mediaPipeline: PIPE } });

    it('is refused unless the gateway sets allowRtpEndpoint (RTP to an address of the hub’s choosing)', () => {
      expectDenied(session(), createRtp(), 'type-disabled');
      expectForwarded(session(rules({ allowRtpEndpoint: true })), createRtp());
    });

    it("even when enabled, the engine's talkBack parameter is refused (a hub never talks through a camera this way)", () => {
      const create = req('create', {
        type: 'RtpEndpoint',
        constructorParams: { mediaPipeline: PIPE, talkBack: true },
      });
      expectDenied(session(rules({ allowRtpEndpoint: true })), create, 'param-not-allowed');
    });

    it('even when enabled, an offer that sends RTP to a LAN address is refused', () => {
      const s = session(rules({ allowRtpEndpoint: true }));
      const v = s.check(createRtp());
      assert.equal(v.action, 'forward');
      if (v.action === 'forward')
        s.observeResponse(v.message, resultResponse(v.message.id, { value: RTP, sessionId: 'S1' }));
      const offer =
        'v=0\r\no=- 1 1 IN IP4 192.168.1.77\r\ns=-\r\nc=IN IP4 192.168.1.77\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n';
      expectDenied(s, invoke(RTP, 'processOffer', { offer }), 'lan-address');
    });
  });
});

describe('parseMediaTarget / parseRelayUri / targetListAllows', () => {
  it('parses host, host:port and bracketed IPv6; refuses junk with the option name', () => {
    assert.deepEqual(parseMediaTarget('Turn.Example.com'), { host: 'turn.example.com', port: undefined });
    assert.deepEqual(parseMediaTarget('203.0.113.5:3478'), { host: '203.0.113.5', port: 3478 });
    assert.deepEqual(parseMediaTarget('[2001:db8::1]:5349'), { host: '2001:db8::1', port: 5349 });
    for (const bad of ['', 'a b', 'turn:x', 'x:0', 'x:70000', '2001:db8::1', '0.0.0.0', 'http://x', 5]) {
      assert.throws(() => parseMediaTarget(bad, 'mediaTargets[0]'), /mediaTargets\[0\]/, String(bad));
    }
  });

  it('reads STUN/TURN URIs with their default ports (RFC 7064, RFC 7065)', () => {
    assert.deepEqual(parseRelayUri('turn:turn.example.com'), { host: 'turn.example.com', port: 3478 });
    assert.deepEqual(parseRelayUri('turns:turn.example.com'), { host: 'turn.example.com', port: 5349 });
    assert.deepEqual(parseRelayUri('turn:127.0.0.1:40000?transport=tcp'), { host: '127.0.0.1', port: 40000 });
    assert.deepEqual(parseRelayUri('stun:[2001:db8::1]:3478'), { host: '2001:db8::1', port: 3478 });
    for (const bad of ['http://x', 'turn:u:p@x', 'turn:0.0.0.0', 'turn:x:99999', 42]) {
      assert.equal(parseRelayUri(bad), undefined, String(bad));
    }
  });

  it('matches hosts case-insensitively, ports exactly unless the entry has none', () => {
    const list = [
      { host: 'a.example', port: 3478 },
      { host: 'b.example', port: undefined },
    ];
    assert.equal(targetListAllows(list, 'A.EXAMPLE', 3478), true);
    assert.equal(targetListAllows(list, 'a.example', 3479), false);
    assert.equal(targetListAllows(list, 'b.example', 1), true);
    assert.equal(targetListAllows(list, '[::1]', 3478), false);
    assert.equal(targetListAllows(list, undefined, 3478), true);
    assert.equal(targetListAllows([], 'a.example', undefined), false);
  });
});

describe('gatewayMediaRules', () => {
  const log = createLogger('test', memorySink());

  it('defaults to the hub host and the relays the hub advertised, ignoring advertised LAN literals', () => {
    let advertised: readonly string[] = [];
    const sink = memorySink();
    const r = gatewayMediaRules({}, 'wss://hub.example.com/tunnel', () => advertised, createLogger('t', sink));
    assert.equal(r.allowLanViewers, false);
    assert.equal(r.allowRtpEndpoint, false);
    assert.equal(r.relayAllowed('hub.example.com', 9), true);
    assert.equal(r.relayAllowed('turn.example.com', 3478), false, 'nothing advertised yet');
    advertised = [
      'turn:turn.example.com:3478?transport=udp',
      'turn:192.168.1.1:22?transport=tcp',
      'turns:198.51.100.2',
    ];
    assert.equal(r.relayAllowed('turn.example.com', 3478), true);
    assert.equal(r.relayAllowed('198.51.100.2', 5349), true);
    assert.equal(r.relayAllowed('192.168.1.1', 22), false, 'a LAN literal the hub advertised is ignored');
    assert.ok(sink.records.some((x) => x.msg === 'ignoring a media relay the hub advertised'));
    advertised = [];
    assert.equal(r.relayAllowed('turn.example.com', 3478), false, 'follows the latest welcome');
  });

  it('with allowLanViewers, advertised loopback relays count (everything on one host)', () => {
    const r = gatewayMediaRules(
      { allowLanViewers: true },
      'ws://127.0.0.1:1/tunnel',
      () => ['turn:127.0.0.1:40000'],
      log,
    );
    assert.equal(r.relayAllowed('127.0.0.1', 40000), true);
  });

  it('explicit mediaTargets replace the defaults, whatever their range', () => {
    const r = gatewayMediaRules(
      { mediaTargets: ['192.168.1.2:3478'], allowRtpEndpoint: true },
      'wss://hub.example.com/tunnel',
      () => ['turn:turn.example.com'],
      log,
    );
    assert.equal(r.relayAllowed('192.168.1.2', 3478), true);
    assert.equal(r.relayAllowed('hub.example.com', 3478), false);
    assert.equal(r.relayAllowed('turn.example.com', 3478), false);
    assert.equal(r.allowRtpEndpoint, true);
  });

  it('refuses bad options with TypeError/RangeError naming the option', () => {
    const hub = 'wss://hub.example.com/tunnel';
    assert.throws(() => gatewayMediaRules({ mediaTargets: ['x:0'] }, hub, () => [], log), /mediaTargets\[0\]/);
    assert.throws(() => gatewayMediaRules({ mediaTargets: 'x' as never }, hub, () => [], log), /mediaTargets/);
    assert.throws(() => gatewayMediaRules({ allowLanViewers: 'yes' as never }, hub, () => [], log), /allowLanViewers/);
  });
});
