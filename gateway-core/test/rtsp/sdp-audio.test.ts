import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../../src/rtsp/sdp.js';
import { chooseAudioTracks, findAudioTracks, hasOnvifDirections } from '../../src/rtsp/sdp-audio.js';

const BASE = 'rtsp://127.0.0.1:554/stream1/';

function sdp(...sections: string[]): string {
  return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=cam', 't=0 0', 'a=control:*', ...sections, ''].join('\r\n');
}

const VIDEO = 'm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0';
// GStreamer's rtpmp4gpay (AAC LC, 16 kHz mono), RFC 3640 §3.3.6 AAC-hbr.
const AAC =
  'm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1\r\n' +
  'a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3;indexdeltalength=3\r\n' +
  'a=control:trackID=1';

describe('findAudioTracks', () => {
  it('reads PCMA and PCMU by static payload type without rtpmap (RFC 3551 §6)', () => {
    const [a, u] = findAudioTracks(
      parseSdp(sdp(VIDEO, 'm=audio 0 RTP/AVP 8\r\na=control:trackID=1', 'm=audio 0 RTP/AVP 0\r\na=control:trackID=2')),
      BASE,
    );
    assert.deepEqual(a?.info, { codec: 'PCMA', encodingName: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1 });
    assert.equal(a?.controlUrl, `${BASE}trackID=1`);
    assert.equal(a?.direction, 'sendrecv');
    assert.equal(u?.info.codec, 'PCMU');
  });

  it('reads AAC mpeg4-generic with its RFC 3640 parameters and AudioSpecificConfig', () => {
    const [t] = findAudioTracks(parseSdp(sdp(VIDEO, AAC)), BASE);
    assert.equal(t?.info.codec, 'AAC');
    assert.equal(t?.info.clockRate, 16000);
    assert.deepEqual([...t!.info.config!], [0x14, 0x08]);
    assert.deepEqual(t?.aac, {
      mode: 'AAC-hbr',
      sizeLength: 13,
      indexLength: 3,
      indexDeltaLength: 3,
      ctsDeltaLength: 0,
      dtsDeltaLength: 0,
      randomAccessIndication: false,
      streamStateIndication: 0,
      auxiliaryDataSizeLength: 0,
      frameDuration: 1024,
    });
  });

  it('takes AAC-lbr field sizes from the mode when the fmtp omits them (RFC 3640 §3.3.5)', () => {
    const lbr = AAC.replace('mode=AAC-hbr', 'mode=AAC-lbr').replace(
      /;sizelength=13;indexlength=3;indexdeltalength=3/,
      '',
    );
    const [t] = findAudioTracks(parseSdp(sdp(lbr)), BASE);
    assert.equal(t?.aac?.sizeLength, 6);
    assert.equal(t?.aac?.indexLength, 2);
  });

  it('reports MP4A-LATM, CELP mode, a missing config and unknown codecs as OTHER with a reason', () => {
    const latm = 'm=audio 0 RTP/AVP 98\r\na=rtpmap:98 MP4A-LATM/44100/2\r\na=fmtp:98 cpresent=0;config=400024203fc0';
    const celp = AAC.replace('mode=AAC-hbr', 'mode=CELP-cbr');
    const noConfig = AAC.replace('config=1408;', '');
    const g726 = 'm=audio 0 RTP/AVP 99\r\na=rtpmap:99 G726-32/8000';
    const tracks = findAudioTracks(parseSdp(sdp(latm, celp, noConfig, g726)), BASE);
    assert.deepEqual(
      tracks.map((t) => [t.info.codec, t.unsupported]),
      [
        ['OTHER', 'MP4A-LATM (RFC 6416) audio is not depacketized'],
        ['OTHER', 'mpeg4-generic mode "CELP-cbr" is not AAC-hbr or AAC-lbr'],
        ['OTHER', 'mpeg4-generic without a readable config (AudioSpecificConfig)'],
        ['OTHER', 'G726-32/8000 audio is not supported'],
      ],
    );
    assert.equal(tracks[0]!.info.encodingName, 'MP4A-LATM');
  });

  it('reads Opus and prefers a payload type it can depacketize within a section', () => {
    const [t] = findAudioTracks(
      parseSdp(sdp('m=audio 0 RTP/AVP 99 111\r\na=rtpmap:99 G726-32/8000\r\na=rtpmap:111 opus/48000/2')),
      BASE,
    );
    assert.deepEqual(t?.info, { codec: 'OPUS', encodingName: 'opus', payloadType: 111, clockRate: 48000, channels: 2 });
  });

  it('rejects hostile fmtp values instead of trusting them', () => {
    const huge = AAC.replace('sizelength=13', 'sizelength=99');
    const hexless = AAC.replace('config=1408', 'config=zz');
    const longConfig = AAC.replace('config=1408', `config=${'ab'.repeat(65)}`);
    const channels = AAC.replace('MPEG4-GENERIC/16000/1', 'MPEG4-GENERIC/16000/64');
    const tracks = findAudioTracks(parseSdp(sdp(huge, hexless, longConfig, channels)), BASE);
    assert.deepEqual(
      tracks.map((t) => t.info.codec),
      ['OTHER', 'OTHER', 'OTHER', 'OTHER'],
    );
    assert.equal(tracks[3]!.unsupported, '64 audio channels are not supported');
    assert.equal(tracks[3]!.info.config, undefined);
  });

  it('reads at most 16 audio sections', () => {
    const many = Array.from({ length: 40 }, (_, i) => `m=audio 0 RTP/AVP 8\r\na=control:t${i}`);
    assert.equal(findAudioTracks(parseSdp(sdp(...many)), BASE).length, 16);
  });
});

describe('chooseAudioTracks (ONVIF Streaming Spec §5.3.1)', () => {
  // The ONVIF example: the camera's audio recvonly, the back channel sendonly (the client's view).
  const ONVIF = sdp(
    VIDEO,
    'm=audio 0 RTP/AVP 0\r\na=control:trackID=1\r\na=recvonly',
    'm=audio 0 RTP/AVP 8\r\na=control:trackID=2\r\na=sendonly',
  );

  it('takes recvonly as the camera audio and sendonly as the back channel when it was asked for', () => {
    const { receive, back } = chooseAudioTracks(findAudioTracks(parseSdp(ONVIF), BASE), true);
    assert.equal(receive?.controlUrl, `${BASE}trackID=1`);
    assert.equal(back?.controlUrl, `${BASE}trackID=2`);
    assert.equal(back?.info.codec, 'PCMA');
  });

  it('never takes a back channel that was not asked for', () => {
    const { receive, back } = chooseAudioTracks(findAudioTracks(parseSdp(ONVIF), BASE), false);
    assert.equal(receive?.controlUrl, `${BASE}trackID=1`);
    assert.equal(back, undefined);
  });

  it('knows ONVIF directions by a recvonly section, at media or session level', () => {
    assert.equal(hasOnvifDirections(parseSdp(ONVIF)), true);
    assert.equal(hasOnvifDirections(parseSdp(sdp(VIDEO, 'm=audio 0 RTP/AVP 8\r\na=sendonly'))), false);
    assert.equal(hasOnvifDirections(parseSdp(sdp(VIDEO).replace('a=control:*', 'a=control:*\r\na=recvonly'))), true);
  });

  it('without a back channel in ONVIF terms, a lone sendonly section is the camera audio (RFC 8866 meaning)', () => {
    const tracks = findAudioTracks(parseSdp(sdp(VIDEO, 'm=audio 0 RTP/AVP 8\r\na=sendonly')), BASE);
    assert.equal(chooseAudioTracks(tracks, false).receive?.info.codec, 'PCMA');
    assert.equal(chooseAudioTracks(tracks, true).receive, undefined);
  });

  it('skips inactive sections and prefers a section it can play', () => {
    const tracks = findAudioTracks(
      parseSdp(
        sdp(
          'm=audio 0 RTP/AVP 8\r\na=control:a\r\na=inactive',
          'm=audio 0 RTP/AVP 98\r\na=rtpmap:98 MP4A-LATM/44100\r\na=control:b',
          'm=audio 0 RTP/AVP 0\r\na=control:c',
        ),
      ),
      BASE,
    );
    assert.equal(chooseAudioTracks(tracks, false).receive?.controlUrl, `${BASE}c`);
  });

  it('applies a session-level direction to sections without their own', () => {
    const text = sdp('m=audio 0 RTP/AVP 8').replace('a=control:*', 'a=control:*\r\na=recvonly');
    assert.equal(findAudioTracks(parseSdp(text), BASE)[0]?.direction, 'recvonly');
  });
});
