/**
 * Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for tests
 * that need a real browser as the WebRTC viewer. Everything stays on loopback:
 * the page comes from an http server on 127.0.0.1:0, the page only forwards
 * 127.0.0.1 ICE candidates, and background networking is switched off.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebRTC on loopback: gather 127.0.0.1, and show real addresses instead of mDNS
  // `.local` names so the page can keep only the loopback ones.
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Launches headless Chromium; close it with `browser.close()`. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** Serves `html` at `/` from 127.0.0.1 on a free port (127.0.0.1 is a secure context for WebRTC). */
export async function servePage(html: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A recvonly WebRTC viewer page. `window.viewer` offers and takes the answer
 * (or answers an offer), takes remote candidates, hands its own 127.0.0.1 candidates to `window.sendCandidate`
 * (bound by `exposeViewer`), and reports decoding stats and a picture hash.
 */
export const VIEWER_PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>camgate test viewer</title></head>
<body><video id="v" autoplay muted playsinline></video><canvas id="c"></canvas>
<script>
const pc = new RTCPeerConnection({ iceServers: [] });
const video = document.getElementById('v');
pc.addTransceiver('video', { direction: 'recvonly' });
pc.ontrack = (e) => { if (e.track.kind === 'video') video.srcObject = new MediaStream([e.track]); };
pc.onicecandidate = (e) => {
  if (!e.candidate || !e.candidate.candidate) return;
  if (e.candidate.candidate.split(' ')[4] !== '127.0.0.1') return; // loopback only
  window.sendCandidate({ candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
};
window.viewer = {
  async offer() { const o = await pc.createOffer(); await pc.setLocalDescription(o); return o.sdp; },
  async answer(sdp) { await pc.setRemoteDescription({ type: 'answer', sdp }); },
  async answerOffer(sdp) {
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const a = await pc.createAnswer(); await pc.setLocalDescription(a); return a.sdp;
  },
  async addCandidate(c) { await pc.addIceCandidate(c); },
  async stats() {
    const r = await pc.getStats();
    let out = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, codec: '' };
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded = s.framesDecoded || 0; out.frameWidth = s.frameWidth || 0; out.frameHeight = s.frameHeight || 0;
        const c = s.codecId && r.get(s.codecId); if (c) out.codec = c.mimeType + ' ' + (c.sdpFmtpLine || '');
      }
    });
    out.senderReports = 0; out.senderPackets = 0;
    r.forEach((s) => { if (s.type === 'remote-outbound-rtp' && s.kind === 'video') { out.senderReports = s.reportsSent || 0; out.senderPackets = s.packetsSent || 0; } });
    out.connectionState = pc.connectionState; out.iceConnectionState = pc.iceConnectionState; out.dtls = [];
    out.srtpCipher = '';
    r.forEach((s) => { if (s.type === 'transport') { out.dtls.push(s.dtlsState + '/' + s.iceState); out.srtpCipher = s.srtpCipher || out.srtpCipher; } });
    return out;
  },
  pictureHash() {
    if (!video.videoWidth) return '';
    const c = document.getElementById('c'); c.width = video.videoWidth; c.height = video.videoHeight;
    const g = c.getContext('2d'); g.drawImage(video, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261; for (let i = 0; i < d.length; i += 4) { h ^= d[i] + (d[i+1] << 8) + (d[i+2] << 16); h = Math.imul(h, 16777619) >>> 0; }
    return h.toString(16) + ':' + c.width + 'x' + c.height;
  },
  close() { pc.close(); },
};
</script></body></html>`;

/** What the viewer page reports (RTCInboundRtpStreamStats of its video, and its connection). */
export interface ViewerStats {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  /** `mimeType sdpFmtpLine` of the codec being received. */
  codec: string;
  /** RTCRemoteOutboundRtpStreamStats: RTCP sender reports received, and the packet count the last one gave. */
  senderReports: number;
  senderPackets: number;
  connectionState: string;
  iceConnectionState: string;
  /** `dtlsState/iceState` per transport. */
  dtls: string[];
  /** The DTLS-SRTP profile in use (`SRTP_AES128_CM_HMAC_SHA1_80`, `SRTP_AEAD_AES_128_GCM`), '' before the handshake. */
  srtpCipher: string;
}

interface ViewerApi {
  offer(): Promise<string>;
  answer(sdp: string): Promise<void>;
  answerOffer(sdp: string): Promise<string>;
  addCandidate(c: unknown): Promise<void>;
  stats(): Promise<ViewerStats>;
  pictureHash(): string;
}

/** A loaded viewer page, driven from the test. */
export interface ViewerPage {
  page: Page;
  offer(): Promise<string>;
  answer(sdp: string): Promise<void>;
  /** The other way round: the server offers, the page answers (it is then the DTLS client). */
  answerOffer(sdp: string): Promise<string>;
  addCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void>;
  stats(): Promise<ViewerStats>;
  /** FNV-1a of the current video frame drawn on a canvas, with `:WxH`; '' before the first frame. */
  pictureHash(): Promise<string>;
}

/** Loads the viewer page; its 127.0.0.1 candidates go to `onCandidate`. */
export async function openViewerPage(
  browser: Browser,
  url: string,
  onCandidate: (c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }) => void,
): Promise<ViewerPage> {
  const page = await browser.newPage();
  await page.exposeFunction('sendCandidate', onCandidate);
  await page.goto(url);
  // The functions below are serialized and run in the page, where `globalThis` is `window`.
  type W = { viewer: ViewerApi };
  return {
    page,
    offer: () => page.evaluate(() => (globalThis as unknown as W).viewer.offer()),
    answer: (sdp) => page.evaluate((s) => (globalThis as unknown as W).viewer.answer(s), sdp),
    answerOffer: (sdp) => page.evaluate((s) => (globalThis as unknown as W).viewer.answerOffer(s), sdp),
    addCandidate: (c) => page.evaluate((x) => (globalThis as unknown as W).viewer.addCandidate(x), c),
    stats: () => page.evaluate(() => (globalThis as unknown as W).viewer.stats()),
    pictureHash: () => page.evaluate(() => (globalThis as unknown as W).viewer.pictureHash()),
  };
}
