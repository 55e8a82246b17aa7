/**
 * A Chromium viewer page whose RTCPeerConnection configuration (iceServers,
 * iceTransportPolicy) the test chooses, and a driver that plays a camera
 * through a Kurento-protocol media server with the official kurento-client:
 * pipeline → PlayerEndpoint(rtsp) → WebRtcEndpoint → this page. Used by the
 * TURN end-to-end test and by `npm run bench:media`.
 */
import kurentoClient from 'kurento-client';
import type { Browser, Page } from 'playwright-core';

// kurento-client ships no types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Kc = any;

export const CONFIGURABLE_VIEWER_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>camgate viewer (configurable)</title></head>
<body><video id="v" autoplay muted playsinline></video>
<script>
let pc;
const video = document.getElementById('v');
window.state = { startedAt: 0, firstFrameAt: 0, candidateErrors: [], localTypes: [] };
window.viewer = {
  async start(config) {
    window.state.startedAt = Date.now();
    pc = new RTCPeerConnection(config);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      video.srcObject = new MediaStream([e.track]);
      const first = () => { if (!window.state.firstFrameAt) window.state.firstFrameAt = Date.now(); };
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(first);
      video.addEventListener('loadeddata', first, { once: true });
    };
    pc.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return;
      window.state.localTypes.push(e.candidate.type);
      window.sendCandidate({ candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
    };
    // W3C webrtc-pc §4.8.2: RTCPeerConnectionIceErrorEvent, errorCode is the STUN error (401 = Unauthorized).
    pc.onicecandidateerror = (e) => { window.state.candidateErrors.push({ errorCode: e.errorCode, url: e.url }); };
    const o = await pc.createOffer(); await pc.setLocalDescription(o); return o.sdp;
  },
  async answer(sdp) { await pc.setRemoteDescription({ type: 'answer', sdp }); },
  async addCandidate(c) { await pc.addIceCandidate(c); },
  async stats() {
    const r = await pc.getStats();
    const out = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, localCandidateType: '', remoteCandidateType: '',
      iceConnectionState: pc.iceConnectionState, iceGatheringState: pc.iceGatheringState, connectionState: pc.connectionState };
    let pairId;
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded = s.framesDecoded || 0; out.frameWidth = s.frameWidth || 0; out.frameHeight = s.frameHeight || 0;
      }
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId && r.get(pairId);
    if (pair) {
      const l = r.get(pair.localCandidateId), rm = r.get(pair.remoteCandidateId);
      out.localCandidateType = (l && l.candidateType) || ''; out.remoteCandidateType = (rm && rm.candidateType) || '';
    }
    return Object.assign(out, { candidateErrors: window.state.candidateErrors, localTypes: window.state.localTypes,
      startedAt: window.state.startedAt, firstFrameAt: window.state.firstFrameAt });
  },
  close() { if (pc) pc.close(); },
};
</script></body></html>`;

/** The subset of the W3C RTCConfiguration the tests set. */
export interface ViewerRtcConfig {
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
  iceTransportPolicy?: 'all' | 'relay';
}

export interface ConfigurableViewerStats {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  /** `candidateType` of the local side of the selected pair ('relay' when through TURN). */
  localCandidateType: string;
  remoteCandidateType: string;
  iceConnectionState: string;
  iceGatheringState: string;
  connectionState: string;
  /** `icecandidateerror` events (errorCode 401: the TURN server refused the credentials). */
  candidateErrors: { errorCode: number; url: string }[];
  /** Types of the local candidates gathered (host, srflx, relay). */
  localTypes: string[];
  /** Date.now() in the page when start() ran, and when the first video frame was presented (0 before). */
  startedAt: number;
  firstFrameAt: number;
}

export interface ConfigurableViewer {
  page: Page;
  stats(): Promise<ConfigurableViewerStats>;
  close(): Promise<void>;
}

interface PageApi {
  start(config: ViewerRtcConfig): Promise<string>;
  answer(sdp: string): Promise<void>;
  addCandidate(c: unknown): Promise<void>;
  stats(): Promise<ConfigurableViewerStats>;
  close(): void;
}
type W = { viewer: PageApi };

/** A connection of the official kurento-client; close it with `.close()`. */
export async function connectKurento(url: string): Promise<Kc> {
  // duplicates_timeout: kurento-jsonrpc keeps a 20 s timer per answered request otherwise.
  return kurentoClient(url, { failAfter: 1, duplicates_timeout: 50 });
}

export interface PlayOptions {
  browser: Browser;
  /** Where CONFIGURABLE_VIEWER_HTML is served (loopback). */
  pageUrl: string;
  client: Kc;
  /** The camera's RTSP URL, with credentials (the engine pulls it). */
  cameraUrl: string;
  /** The browser's RTCPeerConnection configuration. */
  rtcConfig: ViewerRtcConfig;
  /** `WebRtcEndpoint.setTurnUrl` value for the media server (`user:password@host:port?transport=udp`). */
  engineTurnUrl?: string;
  /** Forward only candidates whose address is 127.0.0.1 (loopback-only tests). Default true. */
  loopbackOnly?: boolean;
}

/**
 * Opens a tab, builds pipeline → player → WebRTC endpoint, negotiates with the
 * tab and starts playing. Returns the tab's stats reader and a close that
 * releases the pipeline and closes the tab.
 */
export async function playThroughKurento(o: PlayOptions): Promise<ConfigurableViewer> {
  const page = await o.browser.newPage();
  const loopbackOnly = o.loopbackOnly ?? true;
  let webrtc: Kc;
  const early: unknown[] = [];
  await page.exposeFunction('sendCandidate', (c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }) => {
    if (loopbackOnly && c.candidate.split(' ')[4] !== '127.0.0.1') return;
    const ice = kurentoClient.getComplexType('IceCandidate')(c);
    if (webrtc) webrtc.addIceCandidate(ice).catch(() => undefined);
    else early.push(ice);
  });
  await page.goto(o.pageUrl);
  const offer = await page.evaluate((cfg) => (globalThis as unknown as W).viewer.start(cfg), o.rtcConfig);
  const pipeline: Kc = await o.client.create('MediaPipeline');
  try {
    const player: Kc = await pipeline.create('PlayerEndpoint', { uri: o.cameraUrl });
    webrtc = await pipeline.create('WebRtcEndpoint');
    if (o.engineTurnUrl) await webrtc.setTurnUrl(o.engineTurnUrl);
    webrtc.on('IceCandidateFound', (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } }) => {
      const c = {
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      };
      page.evaluate((x) => (globalThis as unknown as W).viewer.addCandidate(x), c).catch(() => undefined);
    });
    for (const c of early.splice(0)) webrtc.addIceCandidate(c).catch(() => undefined);
    await player.connect(webrtc);
    const answer: string = await webrtc.processOffer(offer);
    await page.evaluate((sdp) => (globalThis as unknown as W).viewer.answer(sdp), answer);
    await webrtc.gatherCandidates();
    await player.play();
  } catch (err) {
    await pipeline.release().catch(() => undefined);
    await page.close().catch(() => undefined);
    throw err;
  }
  let closed = false;
  return {
    page,
    stats: () => page.evaluate(() => (globalThis as unknown as W).viewer.stats()),
    close: async () => {
      if (closed) return;
      closed = true;
      await page.evaluate(() => (globalThis as unknown as W).viewer.close()).catch(() => undefined);
      await pipeline.release().catch(() => undefined);
      await page.close().catch(() => undefined);
    },
  };
}
