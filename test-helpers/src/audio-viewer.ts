/**
 * A Chromium viewer page that receives video and audio (recvonly) and
 * listens to the audio with a Web Audio AnalyserNode: `dominantFrequency()`
 * is the loudest FFT bin, the test's proof that a tone came through.
 */
import type { Browser, Page } from 'playwright-core';

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
