import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSpropParameterSets, findH264Track, parseSdp, resolveControl } from '../../src/rtsp/sdp.js';
import { CamgateError } from '../../src/util/errors.js';

// Shaped like what a common IP camera answers to DESCRIBE.
const CAMERA_SDP = [
  'v=0',
  'o=- 1700000000 1 IN IP4 192.0.2.10',
  's=Media Presentation',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'a=control:*',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==',
  'a=control:trackID=1',
  'm=audio 0 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'a=control:trackID=2',
  '',
].join('\r\n');

describe('parseSdp', () => {
  it('reads media sections with control, rtpmap and fmtp (RFC 8866 §5.14, §6.6)', () => {
    const sdp = parseSdp(CAMERA_SDP);
    assert.equal(sdp.control, '*');
    assert.equal(sdp.media.length, 2);
    assert.equal(sdp.media[1]!.type, 'audio');
    assert.equal(sdp.media[1]!.rtpmap.get(0)?.encoding, 'PCMU');
    assert.equal(sdp.media[0]!.fmtp.get(96)?.get('packetization-mode'), '1');
  });

  it('refuses what is not SDP or has a broken m= or rtpmap line', () => {
    const code = (fn: () => unknown, re: RegExp): void =>
      assert.throws(
        fn,
        (e: unknown) => e instanceof CamgateError && e.code === 'CAMGATE_RTSP_SDP' && re.test(e.message),
      );
    code(() => parseSdp('<html>'), /v=0/);
    code(() => parseSdp('v=0\nm=video\n'), /malformed m= line/);
    code(() => parseSdp('v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264\n'), /malformed rtpmap/);
    code(() => parseSdp('v=0\n' + 'a=x\n'.repeat(3000)), /more than 2000 lines/);
  });
});

describe('findH264Track', () => {
  it('picks the H.264 track, resolves its control against Content-Base and decodes sprop-parameter-sets', () => {
    const t = findH264Track(parseSdp(CAMERA_SDP), 'rtsp://192.0.2.10:554/Streaming/101/');
    assert.ok(t);
    assert.equal(t.payloadType, 96);
    assert.equal(t.clockRate, 90000);
    assert.equal(t.controlUrl, 'rtsp://192.0.2.10:554/Streaming/101/trackID=1');
    assert.equal(t.packetizationMode, 1);
    assert.equal(t.profileLevelId, '420029');
    assert.equal((t.sps?.[0] ?? 0) & 0x1f, 7);
    assert.equal((t.pps?.[0] ?? 0) & 0x1f, 8);
    assert.equal(t.pps?.toString('base64'), 'aM48gA==');
  });

  it('returns undefined when there is no H.264 video (audio-only, H.265)', () => {
    const h265 = 'v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H265/90000\nm=audio 0 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n';
    assert.equal(findH264Track(parseSdp(h265), 'rtsp://h/'), undefined);
  });

  it('defaults packetization-mode to 0 and ignores malformed profile-level-id and sprop values', () => {
    const sdp =
      'v=0\nm=video 0 RTP/AVP 97\na=rtpmap:97 h264/90000\na=fmtp:97 profile-level-id=zz;sprop-parameter-sets=%%%,\n';
    const t = findH264Track(parseSdp(sdp), 'rtsp://h/s');
    assert.ok(t);
    assert.equal(t.packetizationMode, 0);
    assert.equal(t.profileLevelId, undefined);
    assert.equal(t.sps, undefined);
    assert.equal(t.controlUrl, 'rtsp://h/s');
  });
});

describe('resolveControl (RFC 2326 §C.1.1)', () => {
  it('handles *, absolute, relative and absolute-path controls', () => {
    assert.equal(resolveControl('*', 'rtsp://h/s/'), 'rtsp://h/s/');
    assert.equal(resolveControl(undefined, 'rtsp://h/s'), 'rtsp://h/s');
    assert.equal(resolveControl('rtsp://other/x/track1', 'rtsp://h/s'), 'rtsp://other/x/track1');
    assert.equal(resolveControl('trackID=0', 'rtsp://h:8554/live.sdp'), 'rtsp://h:8554/live.sdp/trackID=0');
    assert.equal(resolveControl('trackID=0', 'rtsp://h/live/'), 'rtsp://h/live/trackID=0');
    assert.equal(resolveControl('/abs/track', 'rtsp://h:10554/live'), 'rtsp://h:10554/abs/track');
  });
});

describe('decodeSpropParameterSets (RFC 6184 §8.1)', () => {
  it('sorts NAL units into SPS and PPS and skips garbage', () => {
    const r = decodeSpropParameterSets('aM48gA==, !!, Z0IAKeKQ');
    assert.equal((r.sps?.[0] ?? 0) & 0x1f, 7);
    assert.equal((r.pps?.[0] ?? 0) & 0x1f, 8);
    assert.deepEqual(decodeSpropParameterSets(''), {});
  });
});
