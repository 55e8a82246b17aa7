import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '@camgate/test-helpers';
import type { AudioFrame, CameraAudioInfo } from '../../src/engine/media/audio-codecs.js';
import { OpusTranscoder, opusTranscoderArgs } from '../../src/engine/media/opus-transcoder.js';
import { attachSourceAudio } from '../../src/engine/media/source-audio.js';
import { findFfmpeg } from '../../src/engine/media/index.js';
import { defaultLogger } from '../../src/util/index.js';
import { aacTone, g711Tone } from '../helpers/audio.js';

const log = defaultLogger('test:opus');
const FFMPEG = findFfmpeg()!;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('OpusTranscoder (FFmpeg)', () => {
  it('passes FFmpeg an argument array that names no URL or file: stdin in, Ogg Opus on stdout', () => {
    const args = opusTranscoderArgs(
      { codec: 'AAC', encodingName: 'MPEG4-GENERIC', payloadType: 97, clockRate: 16000, channels: 1 },
      32000,
    );
    assert.deepEqual(
      args.filter((a) => a.startsWith('pipe:')),
      ['pipe:0', 'pipe:1'],
    );
    assert.ok(!args.some((a) => /:\/\/|^\//.test(a)));
    assert.equal(
      args[args.indexOf('-page_duration') + 1],
      '20000',
      'one Ogg page per 20 ms packet: no 1 s muxer delay',
    );
  });

  it('turns AAC into 20 ms Opus packets that carry the camera’s timestamps', { timeout: 30_000 }, async (t) => {
    const clip = await aacTone(1000, 2, 16000);
    const info: CameraAudioInfo = {
      codec: 'AAC',
      encodingName: 'MPEG4-GENERIC',
      payloadType: 97,
      clockRate: 16000,
      channels: 1,
      config: clip.config,
    };
    const tr = new OpusTranscoder({ ffmpegPath: FFMPEG, input: info, logger: log });
    t.after(() => tr.close());
    const got: { timestamp: number; samples: number; payload: Buffer }[] = [];
    tr.on('packet', (p) => got.push(p));
    const start = 0xffff_f000; // wraps during the clip
    clip.frames.forEach((f, i) => assert.equal(tr.write(f, (start + i * 1024) >>> 0), true));
    // 2 s of input: at least 1.5 s of 20 ms packets out (the encoder keeps its last frames until more input).
    await waitUntil(() => got.length >= 75, 'Opus packets from FFmpeg', 20_000);
    assert.ok(
      got.every((p) => p.samples === 960),
      'every packet is 20 ms at 48 kHz',
    );
    // The first packet begins the encoder's pre-skip (RFC 7845 §4.2) before the first input sample.
    const lead = (start - got[0]!.timestamp + 2 ** 32) % 2 ** 32;
    assert.ok(lead >= 0 && lead < 320, `first packet ${lead} samples before the first frame`);
    for (let i = 1; i < got.length; i++) {
      const step = (got[i]!.timestamp - got[i - 1]!.timestamp + 2 ** 32) % 2 ** 32;
      assert.equal(step, 320, `packet ${i}: 20 ms at the camera's 16 kHz clock`);
    }
    assert.equal(tr.stats.droppedIn, 0);
  });

  it('turns A-law into Opus too (a viewer that takes no G.711)', { timeout: 30_000 }, async (t) => {
    const info: CameraAudioInfo = { codec: 'PCMA', encodingName: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1 };
    const tr = new OpusTranscoder({ ffmpegPath: FFMPEG, input: info, logger: log });
    t.after(() => tr.close());
    let n = 0;
    tr.on('packet', () => n++);
    g711Tone('PCMA', 1000, 100).forEach((f, i) => tr.write(f, i * 160));
    await waitUntil(() => n >= 75, 'Opus packets from A-law', 20_000);
  });

  it('restarts FFmpeg with backoff when it dies, and stops for good on close()', { timeout: 30_000 }, async (t) => {
    const info: CameraAudioInfo = { codec: 'PCMU', encodingName: 'PCMU', payloadType: 0, clockRate: 8000, channels: 1 };
    const tr = new OpusTranscoder({
      ffmpegPath: FFMPEG,
      input: info,
      logger: log,
      restart: { initialMs: 50, maxMs: 100 },
    });
    t.after(() => tr.close());
    const first = tr.pid!;
    const restarts: number[] = [];
    tr.on('restarting', (ms) => restarts.push(ms));
    process.kill(first, 'SIGKILL'); // our own child
    await waitUntil(() => tr.pid !== undefined && tr.pid !== first, 'a new FFmpeg', 10_000);
    assert.deepEqual(restarts, [50]);
    let n = 0;
    tr.on('packet', () => n++);
    g711Tone('PCMU', 1000, 50).forEach((f, i) => tr.write(f, i * 160));
    await waitUntil(() => n >= 20, 'Opus after the restart', 20_000);
    const second = tr.pid!;
    tr.close();
    await waitUntil(() => !alive(second), 'FFmpeg gone after close', 10_000);
    assert.equal(tr.running, false);
  });
});

describe('SourceAudio (one camera’s audio for its subscribers)', () => {
  const AAC_INFO = (config: Buffer): CameraAudioInfo => ({
    codec: 'AAC',
    encodingName: 'MPEG4-GENERIC',
    payloadType: 97,
    clockRate: 16000,
    channels: 1,
    config,
  });

  it(
    'shares one FFmpeg between two Opus listeners, stops it after the last, restarts on a new config',
    { timeout: 60_000 },
    async (t) => {
      const clip = await aacTone(1000, 4, 16000);
      const client = new EventEmitter();
      const notices: string[] = [];
      const { audio } = attachSourceAudio(client, {
        ffmpeg: () => FFMPEG,
        logger: log,
        notice: (n) => notices.push(n.code),
      });
      t.after(() => audio.close());
      client.emit('audio', AAC_INFO(clip.config));
      assert.equal(audio.transcoderPid, undefined, 'nobody listens: no FFmpeg');
      const a: AudioFrame[] = [];
      const b: AudioFrame[] = [];
      const offA = audio.subscribe((f) => a.push(f), { accept: ['OPUS', 'PCMA'] });
      const pid = audio.transcoderPid!;
      assert.ok(pid > 0);
      const offB = audio.subscribe((f) => b.push(f), { accept: ['OPUS'] });
      assert.equal(audio.transcoderPid, pid, 'the second listener shares the first one’s FFmpeg');
      const raw: AudioFrame[] = [];
      const offRaw = audio.subscribe((f) => raw.push(f)); // no accept: the camera's frames as they are
      let i = 0;
      const feed = (n: number): void => {
        for (const end = i + n; i < end; i++)
          client.emit('audioFrame', { payload: clip.frames[i % clip.frames.length]!, timestamp: i * 1024 });
      };
      feed(40);
      await waitUntil(() => a.length >= 20 && b.length >= 20, 'Opus for both', 20_000);
      assert.ok(a.every((f) => f.codec === 'OPUS' && f.clockRate === 48000));
      assert.deepEqual(
        a.slice(0, 20).map((f) => f.timestamp),
        b.slice(0, 20).map((f) => f.timestamp),
        'the same packets',
      );
      assert.equal(raw.length, 40);
      assert.equal(raw[0]!.codec, 'AAC');
      offRaw();
      // A camera reconnect with another AudioSpecificConfig (now 8 kHz): a new FFmpeg.
      const clip8 = await aacTone(1000, 1, 8000);
      client.emit('audio', { ...AAC_INFO(clip8.config), clockRate: 8000 });
      const pid2 = audio.transcoderPid!;
      assert.ok(pid2 > 0 && pid2 !== pid);
      await waitUntil(() => !alive(pid), 'the old FFmpeg gone', 10_000);
      offA();
      assert.equal(audio.transcoderPid, pid2, 'one listener left');
      offB();
      assert.equal(audio.transcoderPid, undefined);
      await waitUntil(() => !alive(pid2), 'FFmpeg gone after the last listener', 10_000);
      assert.deepEqual(notices, []);
    },
  );

  it('passes G.711 untouched without FFmpeg; an Opus-only viewer without FFmpeg gets a notice, once', async (t) => {
    const client = new EventEmitter();
    const notices: { code: string; message: string }[] = [];
    const { audio } = attachSourceAudio(client, {
      ffmpeg: () => undefined,
      logger: log,
      notice: (n) => notices.push(n),
    });
    t.after(() => audio.close());
    client.emit('audio', { codec: 'PCMA', encodingName: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1 });
    const pass: AudioFrame[] = [];
    const opus: AudioFrame[] = [];
    audio.subscribe((f) => pass.push(f), { accept: ['OPUS', 'PCMU', 'PCMA'] });
    audio.subscribe((f) => opus.push(f), { accept: ['OPUS'] });
    audio.subscribe(() => undefined, { accept: ['OPUS'] });
    const frames = g711Tone('PCMA', 1000, 5);
    frames.forEach((f, i) => client.emit('audioFrame', { payload: f, timestamp: i * 160 }));
    await sleep(50);
    assert.equal(pass.length, 5);
    assert.ok(
      pass.every((f, i) => f.payload === frames[i] && f.codec === 'PCMA' && f.samples === 160),
      'untouched',
    );
    assert.equal(opus.length, 0);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.code, 'CAMGATE_STREAM_AUDIO_UNAVAILABLE');
    assert.match(notices[0]!.message, /FFmpeg is not installed: video only/);
  });

  it('stamps frames with the camera’s NTP time once both tracks sent a report, and refuses bad accept lists', () => {
    const client = new EventEmitter();
    const { audio } = attachSourceAudio(client, { ffmpeg: () => undefined, logger: log, notice: () => undefined });
    client.emit('audio', { codec: 'PCMU', encodingName: 'PCMU', payloadType: 0, clockRate: 8000, channels: 1 });
    const got: AudioFrame[] = [];
    audio.subscribe((f) => got.push(f), { accept: ['PCMU'] });
    client.emit('audioFrame', { payload: Buffer.alloc(160), timestamp: 800 });
    client.emit('senderReport', { track: 'audio', ntpMs: 10_000, rtpTimestamp: 0 });
    client.emit('senderReport', { track: 'video', ntpMs: 10_000, rtpTimestamp: 0 });
    client.emit('audioFrame', { payload: Buffer.alloc(160), timestamp: 800 });
    assert.equal(got[0]!.ntpMs, undefined);
    assert.equal(got[1]!.ntpMs, 10_100);
    assert.throws(() => audio.subscribe(() => undefined, { accept: ['G722' as 'OPUS'] }), TypeError);
    audio.close();
  });
});
