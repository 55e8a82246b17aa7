/**
 * RtspClient audio against the simulated camera (@camgate/camera-sim): its G.711 and AAC tones, its
 * sender reports, and its ONVIF back channel, which records what we send (G.711 and AAC via aacRtpPayload).
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { g711Decode, g711Encode, startCameraSim } from '@camgate/camera-sim';
import { dominantFrequency, until } from '@camgate/test-helpers';
import { RtspClient } from '../../src/rtsp/rtsp-client.js';
import { aacRtpPayload, type RtspAudioFrame, type RtspSenderReport } from '../../src/rtsp/index.js';
import { createLogger, memorySink } from '../../src/util/logger.js';
import { decodeAac, encodeAac, sine } from '../helpers/audio.js';

type SimOptions = Parameters<typeof startCameraSim>[0];

async function play(t: TestContext, sim: SimOptions, backchannel = false) {
  const camera = await startCameraSim({ width: 64, height: 64, fps: 10, ...sim });
  t.after(() => camera.close());
  const sink = memorySink();
  const client = new RtspClient(camera.urlWithCredentials, { logger: createLogger('rtsp', sink), backchannel });
  t.after(() => client.close());
  const frames: RtspAudioFrame[] = [];
  const reports: RtspSenderReport[] = [];
  client.on('audioFrame', (f) => frames.push(f));
  client.on('senderReport', (r) => reports.push(r));
  client.start();
  await until(
    () => client.state,
    (s) => s === 'playing' || s === 'failed',
    30_000,
    'playing',
  );
  assert.equal(client.state, 'playing');
  return { camera, client, frames, reports, sink };
}

/** Sends `aus` payloads paced in real time: `stepTs` RTP ticks and `everyMs` apart. */
async function sendPaced(client: RtspClient, payloads: Buffer[], stepTs: number, everyMs: number): Promise<void> {
  let ts = 12_345;
  for (const p of payloads) {
    assert.equal(client.sendBackchannel(p, ts), true);
    ts += stepTs;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('RtspClient audio against the simulated camera', () => {
  it('takes the sim’s PCMA 800 Hz tone and the SRs of both tracks', async (t) => {
    const { client, frames, reports } = await play(t, { audio: { codec: 'PCMA', toneHz: 800 } });
    assert.equal(client.audioInfo?.codec, 'PCMA');
    await until(
      () => frames.reduce((n, f) => n + f.payload.length, 0),
      (n) => n >= 12000,
      30_000,
      '1.5 s of A-law',
    );
    const pcm = g711Decode('PCMA', Buffer.concat(frames.map((f) => f.payload)));
    const hz = dominantFrequency(pcm, 8000);
    assert.ok(Math.abs(hz - 800) <= 10, `dominant ${hz} Hz, want 800`);
    await until(
      () => new Set(reports.map((r) => r.track)).size,
      (n) => n === 2,
      30_000,
      'SRs of video and audio',
    );
  });

  it('takes the sim’s AAC 1 kHz tone (RFC 3640) and the access units decode to it', async (t) => {
    const { client, frames } = await play(t, { audio: { codec: 'AAC', toneHz: 1000 } });
    const info = client.audioInfo;
    assert.equal(info?.codec, 'AAC');
    assert.ok(info?.config);
    await until(
      () => frames.length,
      (n) => n >= 30,
      30_000,
      '30 AAC access units',
    );
    const pcm = await decodeAac(
      info.config,
      frames.map((f) => f.payload),
      info.clockRate,
    );
    const hz = dominantFrequency(pcm, info.clockRate);
    assert.ok(Math.abs(hz - 1000) <= 10, `dominant ${hz} Hz, want 1000`);
  });

  it('talks on the sim’s PCMU back channel: the camera records the 600 Hz tone we send', async (t) => {
    const { camera, client } = await play(t, { audio: { codec: 'PCMA' }, backchannel: { codec: 'PCMU' } }, true);
    assert.equal(client.backchannelInfo?.codec, 'PCMU');
    assert.equal(client.backchannelInfo?.payloadType, 0);
    const tone = sine(600, 8000, 2, 0.4);
    const ulaw = g711Encode('PCMU', tone);
    const packets = Array.from({ length: ulaw.length / 160 }, (_, i) => ulaw.subarray(i * 160, (i + 1) * 160));
    await sendPaced(client, packets, 160, 20);
    const rec = await until(
      () => camera.backchannelRecording(),
      (r) => r.pcm.length >= 12000,
      20_000,
      'the sim recorded 1.5 s',
    );
    assert.equal(rec.codec, 'PCMU');
    const hz = dominantFrequency(rec.pcm, rec.sampleRate);
    assert.ok(Math.abs(hz - 600) <= 10, `the sim heard ${hz} Hz, want 600`);
  });

  it('talks AAC on the sim’s back channel with aacRtpPayload: the camera decodes the 500 Hz tone', async (t) => {
    const { camera, client } = await play(t, { backchannel: { codec: 'AAC', sampleRate: 16000 } }, true);
    const info = client.backchannelInfo;
    assert.equal(info?.codec, 'AAC');
    assert.equal(info?.clockRate, 16000);
    const aus = await encodeAac(sine(500, 16000, 2.5, 0.4), 16000);
    await sendPaced(client, aus.map(aacRtpPayload), 1024, 64); // 1024 samples at 16 kHz = 64 ms
    const rec = await until(
      () => camera.backchannelRecording(),
      (r) => r.pcm.length >= 16000,
      20_000,
      'the sim recorded 1 s',
    );
    const hz = dominantFrequency(rec.pcm, rec.sampleRate);
    assert.ok(Math.abs(hz - 500) <= 10, `the sim heard ${hz} Hz, want 500`);
  });
});
