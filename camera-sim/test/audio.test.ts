/**
 * The simulated camera's microphone: an audio track FFmpeg finds and decodes
 * to the configured tone (G.711 and AAC), the SDP that announces it (RFC 3551,
 * RFC 3640), interleaved channels and UDP like video, and RTCP sender reports
 * of both tracks on one wall clock (RFC 3550 §6.4.1), checked from raw bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dominantFrequency } from '@camgate/test-helpers';
import { g711Decode, startCameraSim, type CameraSim, type CameraSimOptions } from '../src/index.js';
import { parseSenderReport, pullAudio, runBounded, wallClockOf, type SenderReport } from './helpers/audio-sim.js';
import { RawRtspClient } from './helpers/rtsp-sim.js';

async function sim(t: { after: (fn: () => Promise<void>) => void }, opts: CameraSimOptions): Promise<CameraSim> {
  const s = await startCameraSim({ width: 320, height: 240, ...opts });
  t.after(() => s.close());
  return s;
}

async function describeSdp(s: CameraSim): Promise<string> {
  const c = await RawRtspClient.connect(s.port);
  try {
    const r = await c.request('DESCRIBE', s.url, { Accept: 'application/sdp' });
    assert.equal(r.status, 200);
    return r.body;
  } finally {
    c.close();
  }
}

describe('camera-sim audio track', () => {
  describe('SDP (RFC 4566) and what FFmpeg makes of it', () => {
    it('announces PCMA as static payload type 8 with its own control, after the video', async (t) => {
      const s = await sim(t, { audio: { codec: 'PCMA' } });
      const sdp = await describeSdp(s);
      const audio = sdp.slice(sdp.indexOf('m=audio'));
      assert.match(audio, /^m=audio 0 RTP\/AVP 8\r\na=rtpmap:8 PCMA\/8000\r\na=control:trackID=1\r\n$/);
      assert.ok(sdp.indexOf('m=video') < sdp.indexOf('m=audio'));
      assert.doesNotMatch(sdp, /sendonly|recvonly/); // ONVIF attributes only when the back channel is asked for
      assert.deepEqual(s.audio, { codec: 'PCMA', payloadType: 8, sampleRate: 8000, toneHz: 1000 });
    });

    it('announces AAC as mpeg4-generic AAC-hbr with the AudioSpecificConfig of 16 kHz mono (RFC 3640 §3.3.6)', async (t) => {
      const s = await sim(t, { audio: { codec: 'AAC' } });
      const sdp = await describeSdp(s);
      assert.match(sdp, /\r\nm=audio 0 RTP\/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC\/16000\/1\r\n/);
      // AudioSpecificConfig: object type 2 (LC), frequency index 8 (16000), 1 channel → 0x1408.
      assert.match(
        sdp,
        /a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1408\r\n/,
      );
    });

    for (const codec of ['PCMA', 'AAC'] as const) {
      it(`${codec}: ffprobe finds the audio stream beside the video`, async (t) => {
        const s = await sim(t, { audio: { codec } });
        const args = ['-v', 'error', '-rtsp_transport', 'tcp', '-timeout', '20000000', '-show_streams'];
        const r = await runBounded('ffprobe', [...args, '-of', 'json', s.url], 60_000);
        assert.equal(r.code, 0, r.stderr);
        const streams = (JSON.parse(r.stdout.toString()) as { streams: Record<string, unknown>[] }).streams;
        const a = streams.find((x) => x.codec_type === 'audio');
        assert.ok(a, 'no audio stream');
        assert.equal(a.codec_name, codec === 'AAC' ? 'aac' : 'pcm_alaw');
        assert.equal(a.sample_rate, codec === 'AAC' ? '16000' : '8000');
        assert.equal(a.channels, 1);
        assert.ok(streams.some((x) => x.codec_name === 'h264'));
      });
    }
  });

  describe('the tone', () => {
    const cases = [
      { codec: 'PCMA', toneHz: 1000, rate: 8000, transport: 'tcp' },
      { codec: 'PCMU', toneHz: 700, rate: 8000, transport: 'tcp' },
      { codec: 'AAC', toneHz: 1000, rate: 16000, transport: 'tcp' },
      { codec: 'AAC', toneHz: 440, rate: 48000, transport: 'tcp' },
      { codec: 'PCMA', toneHz: 1500, rate: 8000, transport: 'udp' },
    ] as const;
    for (const c of cases) {
      it(`${c.codec} ${c.rate} Hz over ${c.transport}: FFmpeg decodes a ${c.toneHz} Hz tone`, async (t) => {
        const s = await sim(t, { audio: { codec: c.codec, toneHz: c.toneHz, sampleRate: c.rate } });
        const pcm = await pullAudio(s.url, 2, c.rate, c.transport);
        assert.ok(pcm.length >= c.rate, `only ${pcm.length} samples in 2 s`);
        const f = dominantFrequency(pcm, c.rate);
        assert.ok(Math.abs(f - c.toneHz) < 5, `dominant ${f.toFixed(1)} Hz, expected ${c.toneHz}`);
        // A continuous tone at -6 dBFS: no dropouts anywhere in the middle (G.711 is lossless enough to check).
        let peak = 0;
        for (const v of pcm.subarray(c.rate / 4)) peak = Math.max(peak, Math.abs(v));
        assert.ok(peak > 12_000 && peak < 20_000, `peak ${peak}`);
      });
    }
  });

  describe('RTP and RTCP on interleaved channels', () => {
    it('sends video on 0-1 and audio on the pair the client chose, and picks a free pair when it names none', async (t) => {
      const s = await sim(t, { audio: { codec: 'PCMU' } });
      const c = await RawRtspClient.connect(s.port);
      t.after(() => c.close());
      const v = await c.request('SETUP', `${s.url}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast' });
      assert.match(v.headers.get('transport')!, /interleaved=0-1/);
      const session = v.headers.get('session')!.split(';')[0]!;
      const a = await c.request('SETUP', `${s.url}/trackID=1`, { Transport: 'RTP/AVP/TCP;unicast', Session: session });
      assert.match(a.headers.get('transport')!, /interleaved=2-3/);
      // The same pair twice could not be told apart: refused (461).
      const clash = await c.request('SETUP', `${s.url}/trackID=1`, {
        Transport: 'RTP/AVP/TCP;interleaved=0-1',
        Session: session,
      });
      assert.equal(clash.status, 461);
      const play = await c.request('PLAY', `${s.url}/`, { Session: session });
      assert.match(
        play.headers.get('rtp-info')!,
        /trackID=0;seq=\d+;rtptime=\d+,url=.*\/trackID=1;seq=\d+;rtptime=\d+$/,
      );
      await c.waitFor(() => c.frames.filter((f) => f.channel === 2).length >= 10, '10 audio packets');
      const first = c.frames.find((f) => f.channel === 2)!.data;
      assert.equal(first[1]! & 0x7f, 0); // PT 0 = PCMU (RFC 3551)
      assert.equal(first[1]! & 0x80, 0x80); // marker on the first packet of a talkspurt (RFC 3551 §4.1)
      assert.equal(first.length, 12 + 160); // 20 ms at 8000 Hz
      const rtpInfo = /trackID=1;seq=(\d+);rtptime=(\d+)/.exec(play.headers.get('rtp-info')!)!;
      assert.equal(first.readUInt16BE(2), Number(rtpInfo[1]));
      assert.equal(first.readUInt32BE(4), Number(rtpInfo[2]));
      const audio = c.frames.filter((f) => f.channel === 2).map((f) => f.data);
      for (let i = 1; i < audio.length; i++) {
        assert.equal(audio[i]!.readUInt16BE(2), (audio[i - 1]!.readUInt16BE(2) + 1) & 0xffff);
        assert.equal((audio[i]!.readUInt32BE(4) - audio[i - 1]!.readUInt32BE(4)) >>> 0, 160);
      }
      assert.ok(
        c.frames.some((f) => f.channel === 3 && parseSenderReport(f.data)),
        'an audio sender report',
      );
    });

    it('maps the flash frame and the beep to the same wall-clock instant through the two tracks’ sender reports', async (t) => {
      // Sync marks every second, a long GOP so that no IDR hides a flash. Frame m·fps and sample m·8000 are the
      // same camera instant; each sender report maps its track's RTP time to that one clock (RFC 3550 §6.4.1).
      const s = await sim(t, { audio: { codec: 'PCMA' }, syncMarks: { everySeconds: 1 }, gopSeconds: 30 });
      const c = await RawRtspClient.connect(s.port);
      t.after(() => c.close());
      const v = await c.request('SETUP', `${s.url}/trackID=0`, { Transport: 'RTP/AVP/TCP;interleaved=0-1' });
      const session = v.headers.get('session')!.split(';')[0]!;
      await c.request('SETUP', `${s.url}/trackID=1`, { Transport: 'RTP/AVP/TCP;interleaved=2-3', Session: session });
      await c.request('PLAY', `${s.url}/`, { Session: session });
      const flashes = (): number[] => flashTimestamps(c.frames.filter((f) => f.channel === 0).map((f) => f.data));
      const beeps = (): number[] => beepTimestamps(c.frames.filter((f) => f.channel === 2).map((f) => f.data));
      // A beep's packet leaves 20 ms after its flash frame (once its samples are captured): wait for the beeps.
      await c.waitFor(() => beeps().length >= 2, 'two beeps');
      const reports = (ch: number): SenderReport[] =>
        c.frames.filter((f) => f.channel === ch).flatMap((f) => parseSenderReport(f.data) ?? []);
      const [videoSr] = reports(1);
      const [audioSr] = reports(3);
      assert.ok(videoSr && audioSr, 'sender reports of both tracks');
      // The first picture may be the middle of a flash (an IDR then): only beeps, which need silence before
      // them, pick the marks.
      const flashWalls = flashes().map((ts) => wallClockOf(videoSr, ts, 90_000));
      for (const ts of beeps()) {
        const wall = wallClockOf(audioSr, ts, 8000);
        const nearest = Math.min(...flashWalls.map((f) => Math.abs(f - wall)));
        // The beep's first sample is silent (sin 0): its onset is taken as the first loud sample minus one.
        assert.ok(nearest < 1, `beep at ${wall.toFixed(1)} ms has its nearest flash ${nearest.toFixed(2)} ms away`);
      }
      // Later reports keep the same mapping: the clocks do not drift apart (90 kHz and 8 kHz are exact).
      for (const [ch, rate, first] of [
        [1, 90_000, videoSr],
        [3, 8000, audioSr],
      ] as const) {
        for (const sr of reports(ch)) assert.ok(Math.abs(wallClockOf(first, sr.rtpTimestamp, rate) - sr.ntpMs) < 1);
      }
    });
  });

  it('validates the sound options, naming the option and what is allowed', async () => {
    const bad: [CameraSimOptions, RegExp][] = [
      [{ audio: { codec: 'OPUS' as 'AAC' } }, /audio.codec must be one of AAC, PCMA, PCMU, got OPUS/],
      [{ audio: { codec: 'PCMA', sampleRate: 16000 } }, /audio.sampleRate for PCMA must be one of 8000, got 16000/],
      [{ audio: { codec: 'AAC', sampleRate: 44100 } }, /must be one of 8000, 16000, 32000, 48000/],
      [{ audio: { codec: 'PCMA', toneHz: 4000 } }, /audio.toneHz must be an integer 1..3999, got 4000/],
      [{ audio: { codec: 'PCMA', toneHz: 440.5 } }, /audio.toneHz must be an integer/],
      [{ syncMarks: { everySeconds: 0.5 } }, /syncMarks.everySeconds must be an integer 1..60, got 0.5/],
      [{ backchannel: { codec: 'G722' as 'PCMA' } }, /backchannel.codec must be one of/],
    ];
    for (const [opts, msg] of bad) await assert.rejects(startCameraSim(opts), { name: 'RangeError', message: msg });
    await assert.rejects(startCameraSim({ audio: 'PCMA' as unknown as { codec: 'PCMA' } }), { name: 'TypeError' });
    await assert.rejects(startCameraSim({ ffmpeg: 1 as unknown as string }), /ffmpeg must be a string/);
    await assert.rejects(
      startCameraSim({ audio: { codec: 'AAC' }, ffmpeg: '/nonexistent/ffmpeg' }),
      (e: Error & { code?: string }) => e.code === 'CAMGATE_CAMERA_SIM_AUDIO',
    );
  });
});

/** RTP timestamps of video frames that are a sync-mark flash: every macroblock coded, all white I_PCM samples. */
function flashTimestamps(packets: Buffer[]): number[] {
  const frames = new Map<number, { bytes: number; white: number }>();
  for (const p of packets) {
    const ts = p.readUInt32BE(4);
    const f = frames.get(ts) ?? { bytes: 0, white: 0 };
    for (let i = 12; i < p.length; i++) if (p[i] === 235 || p[i] === 128) f.white++;
    f.bytes += p.length - 12;
    frames.set(ts, f);
  }
  const mbBytes = 20 * 15 * 384; // 320x240: every macroblock's I_PCM samples
  return [...frames].filter(([, f]) => f.bytes >= mbBytes && f.white > 0.95 * f.bytes).map(([ts]) => ts);
}

/**
 * RTP timestamps of each beep's first sample in G.711 A-law packets (in order): the first loud sample after
 * 50 ms of quiet, minus one (a beep starts at sin 0 = 0, so its second sample, 1000 Hz at 8 kHz, is the first loud one).
 */
function beepTimestamps(packets: Buffer[]): number[] {
  const out: number[] = [];
  let quiet = 0;
  for (const p of packets) {
    const pcm = g711Decode('PCMA', p.subarray(12));
    for (let i = 0; i < pcm.length; i++) {
      if (Math.abs(pcm[i]!) < 1000) {
        quiet++;
        continue;
      }
      if (quiet >= 400) out.push((p.readUInt32BE(4) + i - 1) >>> 0);
      quiet = 0;
    }
  }
  return out;
}
