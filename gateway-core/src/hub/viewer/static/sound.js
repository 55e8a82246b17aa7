// The camera's sound in a tile: muted by default (browsers let a page start sound only after a person acts),
// one toggle button per tile, shown once sound actually arrives (a camera without a microphone shows none).

/** Sets up the tile's sound button and <audio>; call once per tile. */
export function setupSound(p) {
  const button = p.tile.querySelector('.tile-sound');
  const audio = p.tile.querySelector('audio');
  p.sound = { button, audio, on: false };
  // aria-pressed: the button reads as "Sound, toggle button, not pressed" (WAI-ARIA 1.2 button pattern).
  button.setAttribute('aria-label', `Sound from ${p.cam.name}`);
  button.addEventListener('click', () => setSound(p, !p.sound.on));
}

function setSound(p, on) {
  const s = p.sound;
  s.on = on;
  s.button.setAttribute('aria-pressed', String(on));
  s.button.textContent = on ? 'Sound on' : 'Sound off';
  s.audio.muted = !on;
  // The click is the gesture that allows playback; play() may still refuse (then it stays muted).
  if (on) s.audio.play().catch(() => setSound(p, false));
}

/** The audio track of the tile's current connection (pc.ontrack). */
export function soundTrack(p, track) {
  const s = p.sound;
  s.audio.srcObject = new MediaStream([track]);
  s.audio.muted = !s.on;
  // A remote track starts muted and unmutes when its first packets arrive (W3C Media Capture §4.3.1).
  const show = () => {
    s.button.hidden = false;
    p.tile.dataset.sound = 'yes';
  };
  if (!track.muted) show();
  track.addEventListener('unmute', show);
}
