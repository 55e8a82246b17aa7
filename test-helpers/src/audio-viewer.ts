/**
 * A Chromium viewer page that receives video and audio (recvonly) and
 * listens to the audio with a Web Audio AnalyserNode: `dominantFrequency()`
 * is the loudest FFT bin, the test's proof that a tone came through.
 * `AV_SYNC_VIEWER_HTML` adds what measures lip sync against the camera
 * simulator's sync marks (a flash and a beep at the same capture instant).
 */
import type { Browser, Page } from 'playwright-core';
import { waitUntil } from './bounded.js';

export const AUDIO_VIEWER_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>camgate audio test viewer</title></head>
<body><video id="v" autoplay muted playsinline></video><audio id="a" autoplay muted></audio>
<script>
const pc = new RTCPeerConnection({ iceServers: [] });
pc.addTransceiver('video', { direction: 'recvonly' });
pc.addTransceiver('audio', { direction: 'recvonly' });
let analyser;
const ctx = new AudioContext();
pc.ontrack = (e) => {
  const stream = new MediaStream([e.track]);
  if (e.track.kind === 'video') { document.getElementById('v').srcObject = stream; return; }
  // Chromium feeds a remote WebRTC track to Web Audio only while a media element plays it (muted is fine).
  document.getElementById('a').srcObject = stream;
  analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(stream).connect(analyser);
};
pc.onicecandidate = (e) => {
  if (!e.candidate || !e.candidate.candidate) return;
  if (e.candidate.candidate.split(' ')[4] !== '127.0.0.1') return; // loopback only
  window.sendCandidate({ candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
};
window.viewer = {
  async offer() { const o = await pc.createOffer(); await pc.setLocalDescription(o); return o.sdp; },
  async answer(sdp) { await pc.setRemoteDescription({ type: 'answer', sdp }); },
  async addCandidate(c) { await pc.addIceCandidate(c); },
  dominantFrequency() {
    if (!analyser) return { hz: 0, db: -Infinity };
    if (ctx.state !== 'running') ctx.resume();
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    let best = 1;
    for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    return { hz: best * ctx.sampleRate / analyser.fftSize, db: bins[best] };
  },
  async stats() {
    const r = await pc.getStats();
    const out = { audioPackets: 0, audioCodec: '', concealed: 0, samples: 0, framesDecoded: 0, audioReports: 0 };
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.audioPackets = s.packetsReceived || 0; out.concealed = s.concealedSamples || 0; out.samples = s.totalSamplesReceived || 0;
        const c = s.codecId && r.get(s.codecId); if (c) out.audioCodec = c.mimeType;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded = s.framesDecoded || 0;
      if (s.type === 'remote-outbound-rtp' && s.kind === 'audio') out.audioReports = s.reportsSent || 0;
    });
    return out;
  },
};
</script></body></html>`;

export interface AudioViewerStats {
  audioPackets: number;
  /** `audio/opus`, `audio/PCMA`… of what arrives. */
  audioCodec: string;
  /** Samples the jitter buffer had to invent (loss, late packets), and all samples played. */
  concealed: number;
  samples: number;
  framesDecoded: number;
  /** Audio sender reports received (RTCRemoteOutboundRtpStreamStats). */
  audioReports: number;
}

export interface AudioViewer {
  page: Page;
  offer(): Promise<string>;
  answer(sdp: string): Promise<void>;
  addCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void>;
  dominantFrequency(): Promise<{ hz: number; db: number }>;
  stats(): Promise<AudioViewerStats>;
}

interface Api {
  offer(): Promise<string>;
  answer(sdp: string): Promise<void>;
  addCandidate(c: unknown): Promise<void>;
  dominantFrequency(): { hz: number; db: number };
  stats(): Promise<AudioViewerStats>;
}

/** Opens the page; its 127.0.0.1 candidates go to `onCandidate`. Launch Chromium with `--autoplay-policy=no-user-gesture-required`. */
export async function openAudioViewer(
  browser: Browser,
  url: string,
  onCandidate: (c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }) => void,
): Promise<AudioViewer> {
  const page = await browser.newPage();
  await page.exposeFunction('sendCandidate', onCandidate);
  await page.goto(url);
  type W = { viewer: Api };
  return {
    page,
    offer: () => page.evaluate(() => (globalThis as unknown as W).viewer.offer()),
    answer: (sdp) => page.evaluate((s) => (globalThis as unknown as W).viewer.answer(s), sdp),
    addCandidate: (c) => page.evaluate((x) => (globalThis as unknown as W).viewer.addCandidate(x), c),
    dominantFrequency: () => page.evaluate(() => (globalThis as unknown as W).viewer.dominantFrequency()),
    stats: () => page.evaluate(() => (globalThis as unknown as W).viewer.stats()),
  };
}

/**
 * The audio viewer plus `startSync()`: on the page's own clock, when each flash is shown
 * (requestVideoFrameCallback, mean green level of the frame) and when each beep is heard
 * (AnalyserNode time-domain level, read every 4 ms).
 */
export const AV_SYNC_VIEWER_HTML = AUDIO_VIEWER_HTML.replace(
  '</script></body></html>',
  `
window.sync = { flashes: [], beeps: [] };
window.startSync = () => {
  const v = document.getElementById('v');
  const c = document.createElement('canvas'); c.width = 8; c.height = 6;
  const g = c.getContext('2d', { willReadFrequently: true });
  let bright = false;
  const onFrame = () => {
    g.drawImage(v, 0, 0, 8, 6);
    const d = g.getImageData(0, 0, 8, 6).data;
    let sum = 0; for (let i = 0; i < d.length; i += 4) sum += d[i + 1];
    const b = sum / 48 > 200;
    if (b && !bright) window.sync.flashes.push(performance.now());
    bright = b;
    v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
  const an = analyser; const buf = new Float32Array(256);
  let loud = false;
  an.fftSize = 256;
  setInterval(() => {
    if (ctx.state !== 'running') ctx.resume();
    an.getFloatTimeDomainData(buf);
    let e = 0; for (const s of buf) e += s * s;
    const l = Math.sqrt(e / buf.length) > 0.05;
    if (l && !loud) window.sync.beeps.push(performance.now());
    loud = l;
  }, 4);
};
</script></body></html>`,
);

/**
 * Audio minus video, in ms, for the last `keep` of `marks` sync marks seen by a page opened on
 * `AV_SYNC_VIEWER_HTML` once it plays both tracks. Each flash is paired with the nearest beep (marks
 * are seconds apart, so the nearest is its own). A flash shown later than 1 s after the last beep heard
 * is not paired yet: its own beep may still be on its way (it would otherwise meet the previous mark's
 * beep, a whole mark period away). The first marks are left out: the browser's jitter buffers adapt
 * over the first seconds. Bounded by `timeoutMs`.
 */
export async function measureAvOffsets(
  viewer: AudioViewer,
  marks = 12,
  keep = 6,
  timeoutMs = 120_000,
): Promise<number[]> {
  await viewer.page.evaluate(() => (globalThis as unknown as { startSync(): void }).startSync());
  type S = { sync: { flashes: number[]; beeps: number[] } };
  const read = (): Promise<S['sync']> => viewer.page.evaluate(() => (globalThis as unknown as S).sync);
  let last = await read();
  // Flashes whose beep has had time to be heard (within the ±1 s a mark is paired over).
  const pairable = (s: S['sync']): number[] => s.flashes.filter((f) => f <= (s.beeps.at(-1) ?? -Infinity) + 1_000);
  await waitUntil(
    async () => {
      last = await read();
      return pairable(last).length >= marks && last.beeps.length >= marks;
    },
    `${marks} flashes and beeps`,
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message} (saw ${last.flashes.length} flashes, ${last.beeps.length} beeps)`);
  });
  return pairable(last)
    .slice(-keep)
    .map((f) => {
      const b = last.beeps.reduce((best, x) => (Math.abs(x - f) < Math.abs(best - f) ? x : best));
      return Math.round(b - f);
    });
}
