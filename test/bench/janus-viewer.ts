/**
 * A Chromium viewer of a Janus streaming mountpoint, for `bench:media`: our own
 * small page (no janus.js, nothing from the internet) that speaks Janus's
 * HTTP JSON API itself — create a session, attach `janus.plugin.streaming`,
 * `watch` the mountpoint, answer the JSEP offer that arrives on the long poll,
 * `start`, trickle its 127.0.0.1 candidates — and reports the same stats as
 * the Kurento viewer page (engine-viewer.ts), so both peers are timed alike.
 * The long poll (GET /janus/SESSION) is also what keeps the Janus session alive.
 */
import type { Browser, Page } from 'playwright-core';
import type { ConfigurableViewerStats } from '@camgate/test-helpers';

export const JANUS_VIEWER_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>camgate bench: Janus viewer</title></head>
<body><video id="v" autoplay muted playsinline></video>
<script>
let pc, api, sid, hid, closed = false;
const video = document.getElementById('v');
window.state = { startedAt: 0, firstFrameAt: 0, errors: [] };
const tx = () => Math.random().toString(36).slice(2);
async function post(path, body) {
  const r = await fetch(api + path, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Object.assign({ transaction: tx() }, body)) });
  const j = await r.json();
  if (j.janus === 'error') throw new Error('janus: ' + JSON.stringify(j.error));
  return j;
}
async function onEvent(e) {
  if (e.janus === 'trickle' && e.candidate && !e.candidate.completed) await pc.addIceCandidate(e.candidate);
  if (e.janus !== 'event') return;
  const data = e.plugindata && e.plugindata.data;
  if (data && data.error) window.state.errors.push(String(data.error));
  if (e.jsep && e.jsep.type === 'offer') {
    await pc.setRemoteDescription(e.jsep);
    const a = await pc.createAnswer();
    await pc.setLocalDescription(a);
    await post('/' + sid + '/' + hid, { janus: 'message', body: { request: 'start' }, jsep: { type: a.type, sdp: a.sdp } });
  }
}
async function poll() {
  while (!closed) {
    try {
      const r = await fetch(api + '/' + sid + '?maxev=10&rid=' + Date.now());
      const j = await r.json();
      for (const e of Array.isArray(j) ? j : [j]) await onEvent(e);
    } catch (err) { if (!closed) { window.state.errors.push(String(err)); await new Promise((r) => setTimeout(r, 200)); } }
  }
}
window.viewer = {
  async start(apiUrl, mountId) {
    api = apiUrl;
    window.state.startedAt = Date.now();
    pc = new RTCPeerConnection({ iceServers: [] });
    pc.ontrack = (e) => {
      video.srcObject = new MediaStream([e.track]);
      const first = () => { if (!window.state.firstFrameAt) window.state.firstFrameAt = Date.now(); };
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(first);
      video.addEventListener('loadeddata', first, { once: true });
    };
    pc.onicecandidate = (e) => {
      if (!sid) return;
      const c = e.candidate && e.candidate.candidate;
      if (c && c.split(' ')[4] !== '127.0.0.1') return; // loopback only
      const candidate = c ? { candidate: c, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : { completed: true };
      post('/' + sid + '/' + hid, { janus: 'trickle', candidate }).catch((err) => window.state.errors.push(String(err)));
    };
    sid = (await post('', { janus: 'create' })).data.id;
    hid = (await post('/' + sid, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data.id;
    poll();
    await post('/' + sid + '/' + hid, { janus: 'message', body: { request: 'watch', id: mountId } });
  },
  async stats() {
    const out = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, localCandidateType: '', remoteCandidateType: '',
      iceConnectionState: pc ? pc.iceConnectionState : '', iceGatheringState: pc ? pc.iceGatheringState : '',
      connectionState: pc ? pc.connectionState : '', candidateErrors: [], localTypes: [] };
    if (pc) (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded = s.framesDecoded || 0; out.frameWidth = s.frameWidth || 0; out.frameHeight = s.frameHeight || 0;
      }
    });
    return Object.assign(out, { startedAt: window.state.startedAt, firstFrameAt: window.state.firstFrameAt, errors: window.state.errors });
  },
  async close() {
    closed = true;
    if (pc) pc.close();
    if (sid) await post('/' + sid, { janus: 'destroy' }).catch(() => undefined);
  },
};
</script></body></html>`;

export interface JanusViewer {
  page: Page;
  stats(): Promise<ConfigurableViewerStats & { errors: string[] }>;
  close(): Promise<void>;
}

interface PageApi {
  start(apiUrl: string, mountId: number): Promise<void>;
  stats(): Promise<ConfigurableViewerStats & { errors: string[] }>;
  close(): Promise<void>;
}
type W = { viewer: PageApi };

/** Opens a tab of `pageUrl` (JANUS_VIEWER_HTML on 127.0.0.1) watching mountpoint `mountId` of Janus at `apiUrl`. */
export async function watchJanus(
  browser: Browser,
  pageUrl: string,
  apiUrl: string,
  mountId: number,
): Promise<JanusViewer> {
  const page = await browser.newPage();
  try {
    await page.goto(pageUrl);
    await page.evaluate(([u, id]) => (globalThis as unknown as W).viewer.start(u, id), [apiUrl, mountId] as const);
  } catch (err) {
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
      await page.close().catch(() => undefined);
    },
  };
}
