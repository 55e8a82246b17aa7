// Push-to-talk in a tile: hold the button (mouse, touch or Space) to send your microphone to the camera's speaker.
// Shown only on cameras the hub says you may talk through (`talk: true` in the camera list). Each press is its own
// short WebRTC connection (`{type:'talk'}` in src/hub/viewer/messages.ts): the microphone is open only while held.

const talks = new Map(); // talk id -> tile player p (p.talk = { id, pc, stream, held })
let nextTalk = 1;
let ctx; // { send(msg), iceServers() }

const TEXT = {
  opening: 'Opening your microphone…',
  connecting: 'Connecting to the camera…',
  talking: 'Talking — the camera plays what you say',
  noMic: 'Your microphone could not be opened. Allow it in your browser to talk.',
  failed: 'Talking stopped: the connection to the camera failed.',
};

/** Call once with how to reach the hub. */
export function initTalk(context) {
  ctx = context;
}

/** Sets up the tile's push-to-talk button; hidden unless this person may talk through the camera. */
export function setupTalk(p) {
  const button = p.tile.querySelector('.tile-talk');
  const status = p.tile.querySelector('.tile-talk-state');
  p.talkUi = { button, status };
  button.hidden = p.cam.talk !== true;
  if (button.hidden) return;
  button.setAttribute('aria-label', `Hold to talk through ${p.cam.name}`);
  button.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    button.setPointerCapture?.(e.pointerId); // the release arrives here even if the finger slides off
    press(p);
  });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) button.addEventListener(ev, () => release(p));
  button.addEventListener('keydown', (e) => {
    if (e.code !== 'Space' || e.repeat) return;
    e.preventDefault();
    press(p);
  });
  button.addEventListener('keyup', (e) => {
    if (e.code !== 'Space') return;
    e.preventDefault();
    release(p);
  });
  button.addEventListener('blur', () => release(p));
  button.addEventListener('contextmenu', (e) => e.preventDefault()); // a long touch is talking, not a menu
}

function show(p, state, text) {
  p.tile.dataset.talk = state;
  p.talkUi.button.setAttribute('aria-pressed', String(state === 'talking' || state === 'connecting'));
  p.talkUi.status.textContent = text;
}

async function press(p) {
  if (p.talk) return;
  const id = `t${nextTalk++}`;
  const t = { id, pc: undefined, stream: undefined, held: true };
  p.talk = t;
  talks.set(id, p);
  show(p, 'connecting', TEXT.opening);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    end(p, t, 'error', TEXT.noMic);
    return;
  }
  t.stream = stream;
  if (!t.held || p.talk !== t) return end(p, t, 'idle', '');
  const pc = new RTCPeerConnection({ iceServers: ctx.iceServers() });
  t.pc = pc;
  const [track] = stream.getAudioTracks();
  pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  pc.addTransceiver('video', { direction: 'recvonly' }); // the media backend negotiates around a video section
  pc.onicecandidate = (e) => {
    if (e.candidate && e.candidate.candidate) {
      const { candidate, sdpMid, sdpMLineIndex } = e.candidate;
      ctx.send({ type: 'candidate', id, candidate: { candidate, sdpMid, sdpMLineIndex } });
    }
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'failed' && p.talk === t) end(p, t, 'error', TEXT.failed, true);
  };
  show(p, 'connecting', TEXT.connecting);
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    ctx.send({ type: 'talk', id, gateway: p.cam.gateway, camera: p.cam.camera, offer: offer.sdp });
  } catch {
    end(p, t, 'error', TEXT.failed);
  }
}

function release(p) {
  const t = p.talk;
  if (!t) return;
  t.held = false;
  if (t.pc || !t.stream) end(p, t, 'idle', '', true);
}

/** Closes the microphone and the connection; `tell` also stops the hub's side. */
function end(p, t, state, text, tell = false) {
  t.held = false;
  if (tell && t.pc) ctx.send({ type: 'stop', id: t.id });
  t.pc?.close();
  for (const tr of t.stream?.getTracks() ?? []) tr.stop();
  talks.delete(t.id);
  if (p.talk === t) p.talk = undefined;
  // An error stays on the tile until the next press; a normal release clears the line.
  if (state !== 'idle' || p.tile.dataset.talk !== 'error') show(p, state, text);
}

/** Ends any talk of a tile that closes. */
export function stopTalk(p) {
  if (p.talk) end(p, p.talk, 'idle', '', true);
}

/** Handles the hub's messages about a talk connection; false when `msg` is not one. */
export function talkMessage(msg) {
  const p = typeof msg.id === 'string' ? talks.get(msg.id) : undefined;
  const t = p?.talk;
  if (!p || !t || t.id !== msg.id) return false;
  switch (msg.type) {
    case 'answer':
      t.pc?.setRemoteDescription({ type: 'answer', sdp: msg.sdp }).catch(() => end(p, t, 'error', TEXT.failed, true));
      return true;
    case 'candidate':
      t.pc?.addIceCandidate(msg.candidate).catch(() => undefined);
      return true;
    case 'state':
      if (msg.state === 'talking') show(p, 'talking', TEXT.talking);
      return true;
    case 'error':
      // Busy (someone else talks), no speaker, not allowed: the hub's words, meant for a person.
      end(p, t, msg.code === 'CAMGATE_VIEWER_TALK_BUSY' ? 'busy' : 'error', msg.message);
      return true;
    default:
      return true;
  }
}
