// The camera list and players. Signalling over /viewer/ws (see src/hub/viewer/messages.ts for the protocol);
// media goes straight from the media backend to this page over WebRTC.
import { announceNew, flagBadge, renderHomeBanner, splitFlags } from './flags.js';
import { setupSound, soundTrack } from './sound.js';
import { initTalk, setupTalk, stopTalk, talkMessage } from './talk.js';

const $ = (id) => document.getElementById(id);
const players = new Map(); // player id -> { id, key, cam, pc, oldPc, tile, video, state, retry }
let ws;
let iceServers = [];
let cameras = [];
let flags = []; // raised flags this person may see (hub: src/hub/viewer/flags.ts)
let flagsByCamera = new Map();
let flagUpdates = 0;
let nextId = 1;
let retryMs = 500;
initTalk({ send: (msg) => send(msg), iceServers: () => iceServers });

const EXPOSURE_TEXT = {
  ok: 'Not exposed',
  'at-risk': 'At risk',
  exposed: 'Exposed to the internet!',
  unknown: 'Exposure unknown',
};
const PC_TEXT = {
  new: 'Setting up the video connection…',
  connecting: 'Connecting to the camera…',
  connected: 'Connected — waiting for video…',
  disconnected: 'Connection interrupted — trying to recover…',
  failed: 'The video connection failed. Your network may block it.',
  closed: 'Stopped',
};

/** Tile states that come from the camera (hub stream.ts): they win over the browser's connection texts. */
const CAMERA_STATES = new Set(['reconnecting', 'unreachable']);

function setNotice(p, text) {
  const el = p.tile.querySelector('.tile-notice');
  el.textContent = text;
  el.hidden = !text;
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function setHubState(text, cls) {
  const el = $('hub-state');
  el.textContent = text;
  el.className = `pill ${cls || ''}`;
}

function banner(text) {
  const el = $('banner');
  el.textContent = text || '';
  el.hidden = !text;
}

function connect() {
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/viewer/ws`);
  ws.addEventListener('open', () => {
    retryMs = 500;
    setHubState('Connected to the hub', 'ok');
    banner('');
  });
  ws.addEventListener('message', (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    onMessage(msg);
  });
  ws.addEventListener('close', async (e) => {
    for (const id of [...players.keys()]) fail(id, 'The connection to the hub was lost.', HUB_LOST);
    if (e.code === 4401) return location.assign('/login');
    try {
      // A refused upgrade shows only as 1006: ask the page itself whether the sign-in is still valid.
      const r = await fetch('/', { redirect: 'manual', credentials: 'same-origin' });
      if (r.type === 'opaqueredirect') return location.assign('/login');
    } catch {
      // the hub is unreachable: retry below
    }
    setHubState('Hub unreachable', 'bad');
    banner('The connection to the hub was lost. Reconnecting…');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000); // a restarting hub is back in seconds: look again soon
  });
}

function onMessage(msg) {
  if (talkMessage(msg)) return; // push-to-talk connections (talk.js)
  switch (msg.type) {
    case 'hello':
      $('user').textContent = `Signed in as ${msg.user}`;
      iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
      return;
    case 'cameras':
      cameras = Array.isArray(msg.cameras) ? msg.cameras : [];
      renderCameras();
      openLinked();
      retryWaiting();
      return;
    case 'flags': {
      flags = Array.isArray(msg.flags) ? msg.flags : [];
      flagUpdates++;
      const split = splitFlags(flags);
      flagsByCamera = split.byCamera;
      renderCameras();
      renderTileFlags();
      renderHomeBanner($('home-flags'), split.home);
      announceNew($('flag-announce'), flags);
      return;
    }
    case 'answer': {
      const p = players.get(msg.id);
      if (p)
        p.pc
          .setRemoteDescription({ type: 'answer', sdp: msg.sdp })
          .catch(() => fail(msg.id, 'Your browser could not use the video answer.', BROWSER_FAILED));
      return;
    }
    case 'candidate': {
      const p = players.get(msg.id);
      if (p) p.pc.addIceCandidate(msg.candidate).catch(() => undefined);
      return;
    }
    case 'state': {
      const p = players.get(msg.id);
      if (!p || p.state === 'failed') return;
      setNotice(p, typeof msg.notice === 'string' ? msg.notice : '');
      // The camera's own states always show, even over a picture (which is then frozen, never "Live").
      // "playing" from the hub after an outage means frames flow again; otherwise the video element says Live.
      if (CAMERA_STATES.has(msg.state) || CAMERA_STATES.has(p.state) || p.state !== 'playing') {
        setTileState(p, msg.state, msg.text);
      }
      return;
    }
    case 'error':
      if (msg.id && players.has(msg.id)) fail(msg.id, msg.message, msg.code);
      else banner(msg.message);
      return;
  }
}

function keyOf(c) {
  return `${c.gateway}/${c.camera}`;
}

function renderCameras() {
  const list = $('cameras');
  list.replaceChildren();
  $('no-cameras').hidden = cameras.length > 0;
  for (const c of cameras) {
    const li = document.createElement('li');
    li.className = 'cam';
    li.dataset.key = keyOf(c);
    const open = [...players.values()].some((p) => p.key === keyOf(c));
    if (open) li.classList.add('open');
    const name = document.createElement('span');
    name.className = 'cam-name';
    name.textContent = c.name;
    const meta = document.createElement('span');
    meta.className = 'cam-meta';
    const dot = document.createElement('span');
    dot.className = `dot ${c.online ? 'on' : 'off'}`;
    const where = document.createElement('span');
    where.append(dot, c.online ? `${c.gatewayName} · online` : `${c.gatewayName} · gateway offline`);
    meta.append(where);
    if (c.exposure) {
      const x = document.createElement('span');
      x.className = `exposure ${c.exposure}`;
      x.textContent = EXPOSURE_TEXT[c.exposure] || c.exposure;
      meta.append(x);
    }
    const badge = flagBadge(c.gateway, c.camera, flagsByCamera.get(keyOf(c)));
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = open ? 'Close' : 'Watch';
    button.disabled = !c.online && !open;
    button.addEventListener('click', () => (open ? closeKey(keyOf(c)) : watch(c)));
    li.append(name, meta);
    if (badge) li.append(badge);
    li.append(button);
    list.append(li);
  }
}

/** The short flag line on each open player: the same problems as the camera's badge, in words. */
function renderTileFlags() {
  for (const p of players.values()) {
    const el = p.tile.querySelector('.tile-flags');
    const list = flagsByCamera.get(p.key) || [];
    el.textContent = list.length ? `⚠ ${list.map((f) => f.title).join(' · ')}` : '';
    el.hidden = list.length === 0;
  }
}

function setTileState(p, state, text) {
  if (state === 'playing') playing(p);
  p.state = state;
  p.tile.dataset.state = state;
  p.tile.querySelector('.tile-state').textContent = text;
}

function watch(c) {
  const tile = $('tile').content.firstElementChild.cloneNode(true);
  tile.dataset.key = keyOf(c);
  tile.querySelector('.tile-name').textContent = c.name;
  const video = tile.querySelector('video');
  const p = { id: '', key: keyOf(c), cam: c, pc: undefined, oldPc: undefined, tile, video, state: 'connecting' };
  tile.querySelector('.tile-close').addEventListener('click', () => stop(p.id));
  setupSound(p);
  setupTalk(p);
  video.addEventListener('playing', () => {
    if (p.state !== 'failed' && !CAMERA_STATES.has(p.state)) setTileState(p, 'playing', 'Live');
  });
  $('grid').append(tile);
  $('empty').hidden = true;
  renderTileFlags();
  return start(p);
}

/** (Re)opens player `p` in its tile: a fresh id, RTCPeerConnection and server-side stream, the same <video>. */
async function start(p) {
  const c = p.cam;
  const id = `p${nextId++}`;
  players.delete(p.id);
  p.id = id;
  p.tile.dataset.id = id;
  p.tile.querySelector('.tile-error').textContent = '';
  // A connection still playing (the hub restarted, the media did not) shows until the new one has its track.
  if (p.oldPc) p.oldPc.close();
  p.oldPc = p.pc && p.pc.connectionState !== 'closed' ? p.pc : undefined;
  const pc = new RTCPeerConnection({ iceServers });
  const video = p.video;
  p.pc = pc;
  players.set(id, p);
  renderCameras();
  setTileState(p, 'connecting', 'Connecting to the gateway…');
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' }); // the camera's sound, when it has some (sound.js)
  pc.ontrack = (e) => {
    if (e.track.kind === 'audio') return soundTrack(p, e.track);
    video.srcObject = new MediaStream([e.track]);
    if (p.oldPc) p.oldPc.close();
    p.oldPc = undefined;
  };
  pc.onicecandidate = (e) => {
    if (e.candidate && e.candidate.candidate) {
      send({
        type: 'candidate',
        id,
        candidate: {
          candidate: e.candidate.candidate,
          sdpMid: e.candidate.sdpMid,
          sdpMLineIndex: e.candidate.sdpMLineIndex,
        },
      });
    }
  };
  pc.onconnectionstatechange = () => {
    if (p.state === 'failed' || p.pc !== pc) return;
    if (pc.connectionState === 'failed') return fail(id, PC_TEXT.failed, PC_FAILED);
    // A lost or unreachable camera keeps its message: "Connected — waiting for video…" would hide why.
    if (CAMERA_STATES.has(p.state)) return;
    if (p.state !== 'playing' || pc.connectionState !== 'connected')
      setTileState(p, p.state, PC_TEXT[pc.connectionState] || pc.connectionState);
  };
  // A track that starts again after a reconnect fires 'playing' only if the element paused; mark it live here too.
  video.requestVideoFrameCallback?.(() => {
    if (p.pc === pc && p.state !== 'failed' && !CAMERA_STATES.has(p.state)) setTileState(p, 'playing', 'Live');
  });
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: 'start', id, gateway: c.gateway, camera: c.camera, offer: offer.sdp });
  } catch {
    fail(id, 'Your browser could not start a video connection.', BROWSER_FAILED);
  }
}

function fail(id, text, code) {
  const p = players.get(id);
  if (!p || p.state === 'failed') return;
  setTileState(p, 'failed', 'Not playing');
  p.tile.querySelector('.tile-error').textContent = text;
  // Media goes from the media backend to this page without the hub: when only the hub went away, the picture
  // keeps playing until the reconnected player replaces it (the gateway keeps the old one for its grace period).
  if (code !== HUB_LOST || p.pc.connectionState !== 'connected') closePeers(p);
  // The server may still hold a stream for this id (a failure seen only here): release it.
  if (code === PC_FAILED || code === BROWSER_FAILED) send({ type: 'stop', id });
  if (RETRIED.has(code)) scheduleRetry(p);
}

// Reconnecting by itself, so nobody has to click Watch again after an outage: a player that failed for a reason that passes — hub, tunnel, gateway or
// media backend restarting, a network change — opens again, with backoff, once the hub is reachable and lists
// its camera online. What needs a person (wrong password, no access, unsupported stream) stays failed.
const HUB_LOST = 'hub-lost';
const PC_FAILED = 'pc-failed';
const BROWSER_FAILED = 'browser-failed';
const RETRIED = new Set([
  HUB_LOST,
  PC_FAILED,
  'CAMGATE_VIEWER_GATEWAY_OFFLINE',
  'CAMGATE_VIEWER_GATEWAY_LOST',
  'CAMGATE_VIEWER_GATEWAY_TIMEOUT',
  'CAMGATE_VIEWER_CAMERA_UNREACHABLE',
  'CAMGATE_VIEWER_CAMERA_FAILED',
  'CAMGATE_VIEWER_FAILED',
]);
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 4000; // a restarted gateway or engine is back in seconds: never wait long once it is

function scheduleRetry(p) {
  const r = p.retry || (p.retry = { delayMs: RETRY_FIRST_MS, timer: undefined, due: false });
  clearTimeout(r.timer);
  p.tile.querySelector('.tile-state').textContent = 'Reconnecting…';
  r.timer = setTimeout(() => {
    r.timer = undefined;
    r.due = true;
    retryWaiting();
  }, r.delayMs);
  r.delayMs = Math.min(r.delayMs * 2, RETRY_MAX_MS);
}

/** Restarts every player whose retry is due, when the hub is connected and its camera listed online. */
function retryWaiting() {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  for (const p of [...players.values()]) {
    if (!p.retry || !p.retry.due || p.state !== 'failed') continue;
    const c = cameras.find((x) => keyOf(x) === p.key);
    if (!c || !c.online) continue;
    p.retry.due = false;
    p.cam = c;
    start(p);
  }
}

function closePeers(p) {
  p.pc.close();
  if (p.oldPc) p.oldPc.close();
  p.oldPc = undefined;
}

/** A player that plays again starts its backoff afresh. */
function playing(p) {
  if (p.retry) {
    clearTimeout(p.retry.timer);
    p.retry = undefined;
  }
}

function stop(id) {
  const p = players.get(id);
  if (!p) return;
  if (p.retry) clearTimeout(p.retry.timer);
  stopTalk(p);
  send({ type: 'stop', id });
  closePeers(p);
  p.tile.remove();
  players.delete(id);
  $('empty').hidden = players.size > 0;
  renderCameras();
}

function closeKey(key) {
  for (const p of [...players.values()]) if (p.key === key) stop(p.id);
}

// Deep link `/#camera=GATEWAY/CAMERA` (what a notification links to, e.g. Node-RED's camgate-viewer-link): open
// that camera once it is listed and online. A fragment never reaches the server (RFC 3986 §3.5) and survives the
// sign-in redirect (RFC 9110 §10.2.2), so the link needs no server route; the hub still checks the grant on start.
let linked = '';
function linkedKey() {
  const key = new URLSearchParams(location.hash.slice(1)).get('camera');
  return key && /^[A-Za-z0-9_-]{1,63}\/[A-Za-z0-9_-]{1,63}$/.test(key) ? key : '';
}
function openLinked() {
  const key = linkedKey();
  if (!key || key === linked) return;
  const c = cameras.find((x) => keyOf(x) === key && x.online);
  if (!c) return; // not (yet) listed or online: the next camera list tries again
  linked = key; // open once per link, so closing the player sticks
  if (![...players.values()].some((p) => p.key === key)) watch(c);
}
window.addEventListener('hashchange', () => {
  linked = '';
  openLinked();
});

$('logout').addEventListener('click', async () => {
  for (const id of [...players.keys()]) stop(id);
  try {
    await fetch('/logout', { method: 'POST', credentials: 'same-origin' });
  } finally {
    location.assign('/login');
  }
});

// For tests and diagnostics: what each player's RTCPeerConnection reports (W3C webrtc-stats §3.3 inbound-rtp).
window.camgateViewer = {
  /** The raised flags as the page shows them: camera badges' and the home banner's texts. */
  flags: () => ({
    cameras: Object.fromEntries(
      [...document.querySelectorAll('[data-testid="flag-badge"]')].map((b) => [
        `${b.dataset.gateway}/${b.dataset.camera}`,
        b.textContent,
      ]),
    ),
    home: $('home-flags').hidden ? '' : $('home-flags').textContent,
    ids: flags.map((f) => f.id),
    updates: flagUpdates,
  }),
  players: () =>
    [...players.values()].map((p) => ({
      id: p.id,
      key: p.key,
      state: p.state,
      text: p.tile.querySelector('.tile-state').textContent,
      error: p.tile.querySelector('.tile-error').textContent,
      notice: p.tile.querySelector('.tile-notice').textContent,
    })),
  async stats(id) {
    const p = players.get(id);
    if (!p) return undefined;
    const r = await p.pc.getStats();
    const out = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, connectionState: p.pc.connectionState };
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded = s.framesDecoded || 0;
        out.frameWidth = s.frameWidth || 0;
        out.frameHeight = s.frameHeight || 0;
      }
    });
    return out;
  },
  /** FNV-1a of the player's current picture drawn on a canvas, with `:WxH`; '' before the first frame. */
  pictureHash(id) {
    const p = players.get(id);
    if (!p || !p.video.videoWidth) return '';
    const c = document.createElement('canvas');
    c.width = p.video.videoWidth;
    c.height = p.video.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(p.video, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 4) {
      h ^= d[i] + (d[i + 1] << 8) + (d[i + 2] << 16);
      h = Math.imul(h, 16777619) >>> 0;
    }
    return `${h.toString(16)}:${c.width}x${c.height}`;
  },
};

connect();
