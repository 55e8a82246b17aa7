/**
 * RtspClient audio against GStreamer's RTSP server (test/fixtures/encoder-rtsp-camera.py): a camera's
 * A-law and AAC tones arrive and decode to the tone, RTCP sender reports arrive for both tracks, and a
 * tone sent on the ONVIF back channel (GStreamer's RTSPOnvifServer) is what the camera decodes.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { g711Decode, g711Encode } from '@camgate/camera-sim';
import { dominantFrequency, until } from '@camgate/test-helpers';
import { RtspClient } from '../../src/rtsp/rtsp-client.js';
import type { RtspClientOptions } from '../../src/rtsp/rtsp-client-options.js';
// The audio types as the engine sees them: through the folder's face.
import type { RtspAudioFrame, RtspNotice, RtspSenderReport } from '../../src/rtsp/index.js';
import { createLogger, memorySink } from '../../src/util/logger.js';
import { startEncoderCamera } from '../helpers/encoder-camera.js';
import type { EncoderCameraOptions } from '../helpers/encoder-camera.js';
import { decodeAac, pcmFromBytes, rms, sine } from '../helpers/audio.js';

interface Pulled {
  client: RtspClient;
  frames: RtspAudioFrame[];
  reports: RtspSenderReport[];
  notices: RtspNotice[];
  videoUnits: () => number;
}

async function pull(t: TestContext, cam: EncoderCameraOptions, opts: RtspClientOptions = {}): Promise<Pulled> {
  const camera = await startEncoderCamera({ fps: 10, ...cam });
  t.after(() => camera.close());
  const client = new RtspClient(camera.url, { logger: createLogger('rtsp', memorySink()), ...opts });
  t.after(() => client.close());
  const frames: RtspAudioFrame[] = [];
  const reports: RtspSenderReport[] = [];
  const notices: RtspNotice[] = [];
  let units = 0;
  client.on('audioFrame', (f) => frames.push(f));
  client.on('senderReport', (r) => reports.push(r));
  client.on('notice', (n) => notices.push(n));
  client.on('accessUnit', () => units++);
  client.start();
  await until(
    () => client.state,
    (s) => s === 'playing' || s === 'failed',
    60_000,
    'playing',
  );
  assert.equal(client.state, 'playing');
  return { client, frames, reports, notices, videoUnits: () => units };
}

/** A-law frames in timestamp order, decoded, with no gap between them. */
function alawPcm(frames: RtspAudioFrame[]): Int16Array {
  return g711Decode('PCMA', Buffer.concat(frames.map((f) => f.payload)));
}

describe('RtspClient audio (GStreamer RTSP server)', () => {
  it('plays a PCMA camera: 1 kHz arrives as A-law frames, SRs of both tracks, video still plays', async (t) => {
    const { client, frames, reports, videoUnits } = await pull(t, { audio: 'pcma', toneHz: 1000 });
    assert.deepEqual(client.audioInfo, {
      codec: 'PCMA',
      encodingName: 'PCMA',
      payloadType: 8,
      clockRate: 8000,
      channels: 1,
    });
    await until(
      () => frames.reduce((n, f) => n + f.payload.length, 0),
      (n) => n >= 16000,
      30_000,
      '2 s of A-law',
    );
    // Timestamps count samples: each frame starts where the previous ended (RFC 3551 §4.5.14).
    for (let i = 1; i < frames.length; i++) {
      assert.equal((frames[i]!.timestamp - frames[i - 1]!.timestamp) >>> 0, frames[i - 1]!.payload.length);
    }
    const pcm = alawPcm(frames);
    const hz = dominantFrequency(pcm.subarray(pcm.length - 16000), 8000);
    assert.ok(Math.abs(hz - 1000) <= 20, `dominant ${hz} Hz, want 1000`);
    assert.ok(rms(pcm) > 0.1, 'a tone, not silence');
    // RFC 3550 §6.2: GStreamer sends RTCP about every 5 s; both tracks' SRs come on their odd channels.
    await until(
      () => new Set(reports.map((r) => r.track)).size,
      (n) => n === 2,
      40_000,
      'sender reports of video and audio',
    );
    const audioSr = reports.find((r) => r.track === 'audio')!;
    assert.ok(Math.abs(audioSr.ntpMs - Date.now()) < 60_000, 'the camera clock is this machine’s');
    assert.ok(videoUnits() > 0, 'video plays beside the audio');
  });

  it('plays an AAC camera (mpeg4-generic, RFC 3640): the access units decode to the 1 kHz tone', async (t) => {
    const { client, frames } = await pull(t, { audio: 'aac', toneHz: 1000 });
    const info = client.audioInfo;
    assert.equal(info?.codec, 'AAC');
    assert.equal(info?.encodingName.toUpperCase(), 'MPEG4-GENERIC');
    assert.equal(info?.clockRate, 16000);
    assert.ok(info?.config && info.config.length >= 2, 'AudioSpecificConfig from the fmtp');
    await until(
      () => frames.length,
      (n) => n >= 40,
      30_000,
      '40 AAC access units (2.5 s)',
    );
    // One AU per 1024 samples (ISO/IEC 14496-3): timestamps step by 1024.
    for (let i = 1; i < frames.length; i++) {
      assert.equal((frames[i]!.timestamp - frames[i - 1]!.timestamp) >>> 0, 1024);
    }
    const pcm = await decodeAac(
      info.config,
      frames.map((f) => f.payload),
      16000,
    );
    assert.ok(pcm.length >= 30 * 1024, `decoded ${pcm.length} samples`);
    const hz = dominantFrequency(pcm.subarray(pcm.length - 16000), 16000);
    assert.ok(Math.abs(hz - 1000) <= 20, `dominant ${hz} Hz, want 1000`);
  });

  it('with audio: false sets up video only, as before', async (t) => {
    const { client, frames } = await pull(t, { audio: 'pcma' }, { audio: false });
    await until(
      () => client.videoInfo,
      (v) => v !== undefined,
      10_000,
      'video info',
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(client.audioInfo, undefined);
    assert.equal(frames.length, 0);
  });

  it('a camera without back channel (551 to Require) plays video and audio and says so once', async (t) => {
    const { client, frames, notices } = await pull(t, { audio: 'pcma' }, { backchannel: true });
    assert.deepEqual(notices, [
      {
        code: 'CAMGATE_RTSP_NO_BACKCHANNEL',
        message: 'the camera has no back channel (551 to the ONVIF Require header); playing without it',
      },
    ]);
    assert.equal(client.backchannelInfo, undefined);
    assert.equal(client.sendBackchannel(Buffer.alloc(160, 0xd5), 0), false);
    await until(
      () => frames.length,
      (n) => n > 5,
      20_000,
      'audio frames',
    );
  });

  it('sends a 700 Hz tone on the ONVIF back channel that the camera decodes', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'camgate-backchannel-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const out = path.join(dir, 'received.s16le');
    const got: unknown[] = [];
    const { client, frames } = await pull(t, { audio: 'pcma', backchannelOut: out }, { backchannel: true });
    client.on('backchannel', (i) => got.push(i));
    assert.deepEqual(client.backchannelInfo, {
      codec: 'PCMA',
      encodingName: 'PCMA',
      payloadType: 8,
      clockRate: 8000,
      channels: 1,
    });
    assert.equal(client.audioInfo?.codec, 'PCMA', 'the camera audio plays beside the back channel');
    assert.throws(() => client.sendBackchannel(Buffer.alloc(1401), 0), {
      name: 'RangeError',
      message: 'sendBackchannel: payload must be 1..1400 bytes, got 1401',
    });
    assert.throws(() => client.sendBackchannel(Buffer.alloc(10), -1), RangeError);

    // 2.5 s of 700 Hz in 20 ms packets, paced as a microphone would send them.
    const tone = sine(700, 8000, 2.5, 0.4);
    const alaw = g711Encode('PCMA', tone);
    let sent = 0;
    for (let at = 0; at + 160 <= alaw.length; at += 160) {
      assert.equal(client.sendBackchannel(alaw.subarray(at, at + 160), 90_000 + at), true);
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(sent, 125);
    const pcm = await until(
      async () => pcmFromBytes(await readFile(out).catch(() => Buffer.alloc(0))),
      (p) => p.length >= 8000 * 2,
      30_000,
      '2 s of back-channel audio decoded by the camera',
    );
    const hz = dominantFrequency(pcm.subarray(0, 16000), 8000);
    assert.ok(Math.abs(hz - 700) <= 20, `the camera heard ${hz} Hz, want 700`);
    assert.ok(frames.length > 0, 'camera audio still arrives');
    assert.deepEqual(got, [], 'no second backchannel event without a reconnect');
  });
});
