import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GopCache,
  parseH264Payloads,
  restrictVideoPayloads,
  selectH264Payload,
  TimestampRebaser,
  type H264Payload,
} from '../../src/engine/media/index.js';
import { nalTypes, PPS, SPS, SyntheticH264, frameNumber } from '../helpers/webrtc-viewer.js';

// A Chromium 156 offer's H.264 part (trimmed): no High profile, mode 0 and mode 1 variants.
const CHROMIUM_OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102 103 104 106 107 127',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 nack',
  'a=rtcp-fb:102 nack pli',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000',
  'a=rtpmap:104 H264/90000',
  'a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:106 H264/90000',
  'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:107 H264/90000',
  'a=fmtp:107 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
  'a=rtpmap:127 H264/90000',
  'a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 H264/90000',
  '',
].join('\r\n');

describe('h264-sdp', () => {
  it('lists the first video section H.264 payloads in offer order', () => {
    const p = parseH264Payloads(CHROMIUM_OFFER);
    assert.deepEqual(
      p.map((x) => [x.payloadType, x.profileLevelId, x.packetizationMode]),
      [
        [102, '42001f', 1],
        [104, '42001f', 0],
        [106, '42e01f', 1],
        [107, '42e01f', 0],
        [127, '4d001f', 1],
      ],
    );
    assert.deepEqual(p[0]!.rtcpFeedback, ['nack', 'nack pli']);
  });

  it('answers a High-profile camera with 42e01f when the browser offers no High (RFC 6184 §8.1)', () => {
    const p = parseH264Payloads(CHROMIUM_OFFER);
    assert.equal(selectH264Payload(p, '640028').payloadType, 106);
    assert.equal(selectH264Payload(p).payloadType, 106);
  });

  it('prefers the camera profile when offered, mode 1 only', () => {
    const p = parseH264Payloads(CHROMIUM_OFFER);
    assert.equal(selectH264Payload(p, '4d001f').payloadType, 127);
    assert.equal(selectH264Payload(p, '4d0029').payloadType, 127, 'same profile_idc, other level');
    assert.equal(selectH264Payload(p, '42001f').payloadType, 102);
  });

  it('falls back to the first mode-1 payload and refuses offers without one', () => {
    const only: H264Payload[] = [
      { payloadType: 120, fmtp: '', profileLevelId: '640c1f', packetizationMode: 1, rtcpFeedback: [] },
    ];
    assert.equal(selectH264Payload(only).payloadType, 120);
    assert.throws(() => selectH264Payload([{ ...only[0]!, packetizationMode: 0 }]), { code: 'CAMGATE_ENGINE_NO_H264' });
    assert.throws(() => selectH264Payload([]), { code: 'CAMGATE_ENGINE_NO_H264' });
  });

  it('narrows the offer handed to werift to the chosen payload (RFC 3264 §6.1: the answer is a subset)', () => {
    const narrowed = restrictVideoPayloads(CHROMIUM_OFFER, 106);
    assert.match(narrowed, /^m=video 9 UDP\/TLS\/RTP\/SAVPF 106\r$/m);
    assert.doesNotMatch(narrowed, /a=(rtpmap|fmtp|rtcp-fb):(96|102|103|104|107|127) /);
    assert.match(narrowed, /a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f/);
    assert.match(narrowed, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\na=rtpmap:111 /m, 'other sections untouched');
    assert.deepEqual(
      parseH264Payloads(narrowed).map((p) => p.payloadType),
      [106],
    );
  });

  it('survives hostile SDP lines', () => {
    const junk = 'v=0\r\nm=video x y\r\na=rtpmap:999999 H264/90000\r\na=fmtp:96 ;;==;\r\nm=video 9 P 96\r\n';
    assert.deepEqual(parseH264Payloads(junk), []);
    const bad =
      'v=0\r\nm=video 9 P 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=zzzzzz;packetization-mode=1\r\n';
    assert.equal(parseH264Payloads(bad)[0]!.profileLevelId, '42001f');
  });
});

describe('GopCache', () => {
  it('keeps the frames since the last IDR, starting with SPS/PPS', () => {
    const cache = new GopCache(1024 * 1024);
    const src = new SyntheticH264(4, 100);
    for (let i = 0; i < 6; i++) cache.push(src.next());
    const gop = cache.snapshot();
    assert.deepEqual(gop.map(frameNumber), [4, 5]);
    assert.deepEqual(nalTypes(gop[0]!), [7, 8, 5]);
  });

  it('does not cache P frames before the first IDR', () => {
    const cache = new GopCache(1024 * 1024);
    const src = new SyntheticH264(4, 100);
    src.next();
    cache.push(src.next());
    assert.equal(cache.length, 0);
  });

  it('prepends out-of-band SPS/PPS (sprop-parameter-sets) to an IDR that lacks them', () => {
    const cache = new GopCache(1024 * 1024);
    cache.setParameterSets(SPS, PPS);
    const src = new SyntheticH264(4, 100);
    cache.push(src.next({ withParameterSets: false }));
    assert.deepEqual(nalTypes(cache.snapshot()[0]!), [7, 8, 5]);
  });

  it('is bounded in bytes: a huge GOP empties it until the next IDR', () => {
    const cache = new GopCache(10_000);
    const src = new SyntheticH264(20, 3000);
    for (let i = 0; i < 3; i++) cache.push(src.next());
    assert.equal(cache.length, 3);
    cache.push(src.next()); // 4 x 3000 + SPS/PPS > 10 000
    assert.equal(cache.length, 0);
    assert.equal(cache.bytes, 0);
    assert.equal(cache.overflowed, true);
    while (src.frame < 20) cache.push(src.next());
    assert.equal(cache.length, 0, 'P frames after an overflow are not cached');
    cache.push(src.next()); // frame 20: IDR
    assert.equal(cache.overflowed, false);
    assert.deepEqual(cache.snapshot().map(frameNumber), [20]);
  });

  it('rejects a non-positive bound', () => {
    assert.throws(() => new GopCache(0), RangeError);
  });
});

describe('TimestampRebaser', () => {
  it('starts at 0 and keeps the camera spacing', () => {
    const r = new TimestampRebaser();
    assert.deepEqual(
      [1000, 4600, 8200].map((t) => r.map(t)),
      [0, 3600, 7200],
    );
  });

  it('stays monotonic across a camera restart and a 32-bit wrap', () => {
    const r = new TimestampRebaser();
    r.map(0xffff_f000);
    assert.equal(r.map(0x0000_0200), 0x1200, 'wraps forward');
    assert.equal(r.map(77), 0x1200 + 3000, 'backwards jump advances one nominal frame');
    assert.equal(r.map(77 + 3600), 0x1200 + 3000 + 3600);
    assert.equal(r.map(77 + 3600 + 90000 * 60), 0x1200 + 3000 + 3600 + 3000, 'a 60 s jump is a discontinuity');
  });

  it('advances by the wall-clock time of a pause over a discontinuity, so RTP time keeps pace with arrival', () => {
    let now = 1000;
    const r = new TimestampRebaser({ now: () => now });
    r.map(90_000);
    now += 40;
    assert.equal(r.map(93_600), 3600, 'continuous: the camera spacing');
    now += 6000; // the camera stopped for 6 s and came back with a new clock
    assert.equal(r.map(12), 3600 + 6000 * 90);
    now += 5; // a restart right after the last frame still advances one nominal frame
    assert.equal(r.map(5), 3600 + 6000 * 90 + 3000);
  });

  it('squeezes replayed frames 1 ms apart', () => {
    const r = new TimestampRebaser();
    r.map(500_000);
    assert.equal(r.map(100_000, true), 90);
    assert.equal(r.map(103_600, true), 180);
  });
});
