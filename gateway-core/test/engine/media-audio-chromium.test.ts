import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { startCameraSim } from '@camgate/camera-sim';
import {
  AUDIO_VIEWER_HTML,
  launchChromium,
  openAudioViewer,
  servePage,
  waitUntil,
  type AudioViewer,
} from '@camgate/test-helpers';
import { SharedRtspSources, WebRtcPeer } from '../../src/engine/media/index.js';
import type { CameraAudioInfo } from '../../src/engine/media/audio-codecs.js';
import { attachSourceAudio, type SourceAudio } from '../../src/engine/media/source-audio.js';
import { defaultLogger } from '../../src/util/index.js';
import { aacTone, g711Tone } from '../helpers/audio.js';

const log = defaultLogger('test:audio-chromium');

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat (proc(5): fields 14 and 15, in clock ticks). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // _SC_CLK_TCK is 100 on Linux
}

interface Rig {
  browser: Browser;
  pageUrl: string;
  sources: SharedRtspSources;
  camUrl: string;
}

async function rig(t: TestContext): Promise<Rig> {
  const cam = await startCameraSim({
    username: 'admin',
    password: 'audio-cam-pw',
    width: 320,
    height: 240,
    fps: 25,
    gopSeconds: 2,
  });
  t.after(() => cam.close());
  const sources = new SharedRtspSources({ rtsp: { backoff: { initialMs: 50, maxMs: 200 } } });
  t.after(() => sources.close());
  const site = await servePage(AUDIO_VIEWER_HTML);
  t.after(() => site.close());
  const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  t.after(() => browser.close());
  return { browser, pageUrl: site.url, sources, camUrl: cam.urlWithCredentials };
}

/** One viewer: a WebRtcPeer with the camera's video, and the camera's audio from `audio` with the codecs the page took. */
async function watch(
  t: TestContext,
  r: Rig,
  audio: SourceAudio,
): Promise<{ viewer: AudioViewer; peer: WebRtcPeer; off: () => void }> {
  const handle = r.sources.acquire(r.camUrl);
  t.after(() => handle.release());
  const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1' });
  t.after(() => peer.close());
  t.after(handle.subscribe((au) => peer.feed(au)));
  const viewer = await openAudioViewer(
    r.browser,
    r.pageUrl,
    (c) => void peer.addIceCandidate(c).catch(() => undefined),
  );
  peer.on('iceCandidate', (c) => void viewer.addCandidate(c).catch(() => undefined));
  const answer = await peer.processOffer(await viewer.offer());
  assert.match(answer, /^m=audio /m);
  assert.match(answer, /^a=sendonly\r?$/m);
  await viewer.answer(answer);
  await peer.gatherCandidates();
  assert.deepEqual(peer.audioCodecs, ['OPUS', 'PCMU', 'PCMA'], 'Chromium offers Opus and both G.711 laws');
  const off = audio.subscribe((f) => peer.feedAudio(f), { accept: peer.audioCodecs });
  t.after(off);
  return { viewer, peer, off };
}

/** Plays `frames` into the fake RTSP client in real time, over and over, until stopped. */
function playLoop(client: EventEmitter, frames: Buffer[], samplesPerFrame: number, clockRate: number): () => void {
  const started = performance.now();
  let n = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * (clockRate / samplesPerFrame));
    for (; n <= due; n++)
      client.emit('audioFrame', { payload: frames[n % frames.length]!, timestamp: (n * samplesPerFrame) >>> 0 });
  }, 10);
  return () => clearInterval(timer);
}

async function untilTone(v: AudioViewer, hz: number, what: string): Promise<{ hz: number; db: number }> {
  let last = { hz: 0, db: -Infinity };
  await waitUntil(
    async () => {
      last = await v.dominantFrequency();
      return Math.abs(last.hz - hz) < 30 && last.db > -70;
    },
    `${what}: a ${hz} Hz peak in the page's AnalyserNode (last ${JSON.stringify(last)})`,
    30_000,
    200,
  );
  return last;
}

describe('camera audio in Chromium (AnalyserNode)', () => {
  it(
    'AAC camera: two viewers hear the 1 kHz tone as Opus from ONE FFmpeg for 90 s; FFmpeg stops when both leave',
    { timeout: 240_000 },
    async (t) => {
      const r = await rig(t);
      const clip = await aacTone(1000, 10, 16000);
      const client = new EventEmitter();
      const { audio } = attachSourceAudio(client, {
        ffmpeg: () => '/usr/bin/ffmpeg',
        logger: log,
        notice: (n) => assert.fail(n.message),
      });
      t.after(() => audio.close());
      const info: CameraAudioInfo = {
        codec: 'AAC',
        encodingName: 'MPEG4-GENERIC',
        payloadType: 97,
        clockRate: 16000,
        channels: 1,
        config: clip.config,
      };
      client.emit('audio', info);
      t.after(playLoop(client, clip.frames, 1024, 16000));

      const a = await watch(t, r, audio);
      const pid = audio.transcoderPid!;
      assert.ok(pid > 0);
      const b = await watch(t, r, audio);
      assert.equal(audio.transcoderPid, pid, 'the second viewer shares the first one’s FFmpeg');
      const peakA = await untilTone(a.viewer, 1000, 'viewer A');
      await untilTone(b.viewer, 1000, 'viewer B');
      t.diagnostic(`AAC→Opus tone at viewer A: ${peakA.hz.toFixed(1)} Hz, ${peakA.db.toFixed(1)} dB`);

      const cpu0 = cpuSeconds(pid);
      const t0 = performance.now();
      // Watch long enough for every timer to pass several times: SRs (1 s), flow checks, keep-alives.
      for (let i = 0; i < 9; i++) {
        await sleep(10_000);
        const f = await a.viewer.dominantFrequency();
        assert.ok(
          Math.abs(f.hz - 1000) < 30 && f.db > -40,
          `still a clear 1 kHz after ${(i + 1) * 10} s: ${JSON.stringify(f)}`,
        );
      }
      const cpu = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
      const [load] = (await import('node:os')).loadavg();
      t.diagnostic(
        `FFmpeg AAC→Opus child: ${(cpu * 100).toFixed(2)} % of a core over 90 s (load average ${load!.toFixed(2)})`,
      );
      assert.equal(audio.transcoderPid, pid, 'no restart in 90 s');
      const st = await a.viewer.stats();
      assert.equal(st.audioCodec, 'audio/opus');
      assert.ok(st.audioPackets > 4000, `about 50 packets/s for 90 s: ${st.audioPackets}`);
      assert.ok(st.audioReports >= 60, `audio sender reports arrive (1/s): ${st.audioReports}`);
      assert.ok(st.framesDecoded > 0, 'video plays beside the audio');

      a.off();
      assert.equal(audio.transcoderPid, pid, 'one viewer left: FFmpeg stays');
      b.off();
      assert.equal(audio.transcoderPid, undefined);
      await waitUntil(
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        'FFmpeg gone after the last viewer left',
        10_000,
      );
    },
  );

  it(
    'PCMA camera: the A-law goes out untouched and Chromium hears 1 kHz; no FFmpeg',
    { timeout: 120_000 },
    async (t) => {
      const r = await rig(t);
      const client = new EventEmitter();
      const { audio } = attachSourceAudio(client, {
        ffmpeg: () => assert.fail('no FFmpeg for G.711'),
        logger: log,
        notice: (n) => assert.fail(n.message),
      });
      t.after(() => audio.close());
      client.emit('audio', { codec: 'PCMA', encodingName: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1 });
      t.after(playLoop(client, g711Tone('PCMA', 1000, 50), 160, 8000));
      const v = await watch(t, r, audio);
      const peak = await untilTone(v.viewer, 1000, 'PCMA viewer');
      t.diagnostic(`PCMA passthrough tone: ${peak.hz.toFixed(1)} Hz, ${peak.db.toFixed(1)} dB`);
      assert.equal(audio.transcoderPid, undefined);
      const st = await v.viewer.stats();
      assert.equal(st.audioCodec, 'audio/PCMA');
      assert.ok(st.framesDecoded > 0);
    },
  );
});
