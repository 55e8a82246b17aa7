/**
 * The viewer WebSocket protocol (`/viewer/ws`), JSON text frames. Every frame
 * from a browser is checked here — size, shape, lengths — before anything acts
 * on it; a bad frame gets a `ViewerProtocolError` with a sentence for the page.
 *
 * browser → hub
 *   {type:'start', id, gateway, camera, offer}      open a camera (SDP offer, recvonly video)
 *   {type:'candidate', id, candidate:{candidate, sdpMid?, sdpMLineIndex?}}   trickle ICE (RFC 8838)
 *   {type:'stop', id}                                 close one player
 *   {type:'list'}                                     ask for the camera list again
 *   {type:'talk', id, gateway, camera, offer}       push-to-talk pressed: send the microphone to the camera's
 *                                                     speaker (SDP offer with one sending audio section); `stop`
 *                                                     with the same id when released
 * hub → browser
 *   {type:'hello', user, iceServers}                  once, on connect
 *   {type:'cameras', cameras:[CameraEntry…]}          on connect and whenever something changes; `talk: true`
 *                                                     on a camera this person may talk through
 *   {type:'flags', flags:[ViewerFlag…]}               raised flags this person may see (flags.ts): on connect, on
 *                                                     'list', and whenever one is raised or cleared
 *   {type:'answer', id, sdp} · {type:'candidate', id, candidate}
 *   {type:'state', id, state, text, reason?, notice?} connecting · negotiating · waiting · playing · reconnecting ·
 *                                                     unreachable (reason in plain words) · stopped; notice: why a
 *                                                     stream plays differently (transcoded, B-frames dropped);
 *                                                     a talk stream: connecting · negotiating · talking · stopped
 *   {type:'error', id?, code, message}                `message` is meant for a person
 */
import { CamgateError } from '../../util/index.js';

/** A player id chosen by the page: short and plain. */
const STREAM_ID = /^[A-Za-z0-9_-]{1,32}$/;
const GATEWAY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CAMERA_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** RFC 8839 §5.1 candidate-attribute, as browsers send it (with the `candidate:` prefix); 512 is generous. */
const MAX_CANDIDATE_CHARS = 512;
const CANDIDATE =
  /^candidate:[A-Za-z0-9+/]{1,32} \d{1,3} (udp|tcp|UDP|TCP) \d{1,10} [0-9A-Za-z.:%_-]{1,255} \d{1,5} typ [a-z]{4,5}( [ -~]*)?$/;

export interface IceCandidateMessage {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

export type BrowserMessage =
  | { type: 'start'; id: string; gateway: string; camera: string; offer: string }
  | { type: 'candidate'; id: string; candidate: IceCandidateMessage }
  | { type: 'stop'; id: string }
  | { type: 'list' }
  | { type: 'talk'; id: string; gateway: string; camera: string; offer: string };

/** A browser frame the hub refuses; `message` is shown to the person. */
export class ViewerProtocolError extends CamgateError {
  readonly streamId: string | undefined;
  constructor(message: string, streamId?: string) {
    super('CAMGATE_VIEWER_BAD_MESSAGE', message);
    this.streamId = streamId;
  }
}

export interface MessageLimits {
  /** Largest frame (bytes). */
  maxMessageBytes: number;
  /** Longest SDP offer (characters). */
  maxSdpChars: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, pattern: RegExp, what: string, id?: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !pattern.test(v)) throw new ViewerProtocolError(`The page sent an invalid ${what}.`, id);
  return v;
}

/**
 * Checks an SDP offer's outline (RFC 8866 §5): starts `v=0`, lines of printable
 * text `x=…`, at least one `m=video`. The media backend parses the rest; this
 * keeps garbage and binary out of the Kurento path.
 */
export function checkOffer(sdp: string, maxChars: number): string | undefined {
  if (sdp.length > maxChars) return `The video offer from your browser is too large (over ${maxChars} characters).`;
  if (!sdp.startsWith('v=0')) return 'The video offer from your browser is not a valid session description.';
  const lines = sdp.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (!/^[a-z]=[\t -~]*$/.test(line)) {
      return 'The video offer from your browser is not a valid session description.';
    }
  }
  if (!lines.some((l) => l.startsWith('m=video '))) return 'The video offer from your browser asks for no video.';
  return undefined;
}

/** Checks a push-to-talk offer: the outline of `checkOffer`, with an audio section instead of video. */
export function checkTalkOffer(sdp: string, maxChars: number): string | undefined {
  const outline = checkOffer(sdp.replace(/^m=audio /m, 'm=video '), maxChars);
  if (outline) return outline.replace('video offer', 'microphone offer');
  if (!/^m=audio /m.test(sdp)) return 'The microphone offer from your browser carries no sound.';
  return undefined;
}

/** Parses and validates one frame from a browser. Throws ViewerProtocolError. */
export function parseBrowserMessage(data: Buffer | string, limits: MessageLimits): BrowserMessage {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > limits.maxMessageBytes) throw new ViewerProtocolError('The page sent a message that is too large.');
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    throw new ViewerProtocolError('The page sent a message the hub could not read.');
  }
  if (!isObject(raw) || typeof raw.type !== 'string') {
    throw new ViewerProtocolError('The page sent a message the hub could not read.');
  }
  switch (raw.type) {
    case 'list':
      return { type: 'list' };
    case 'stop':
      return { type: 'stop', id: str(raw, 'id', STREAM_ID, 'player id') };
    case 'start': {
      const id = str(raw, 'id', STREAM_ID, 'player id');
      const gateway = str(raw, 'gateway', GATEWAY_ID, 'gateway id', id);
      const camera = str(raw, 'camera', CAMERA_ID, 'camera id', id);
      if (typeof raw.offer !== 'string') throw new ViewerProtocolError('The page sent no video offer.', id);
      const problem = checkOffer(raw.offer, limits.maxSdpChars);
      if (problem) throw new ViewerProtocolError(problem, id);
      return { type: 'start', id, gateway, camera, offer: raw.offer };
    }
    case 'talk': {
      const id = str(raw, 'id', STREAM_ID, 'player id');
      const gateway = str(raw, 'gateway', GATEWAY_ID, 'gateway id', id);
      const camera = str(raw, 'camera', CAMERA_ID, 'camera id', id);
      if (typeof raw.offer !== 'string') throw new ViewerProtocolError('The page sent no microphone offer.', id);
      const problem = checkTalkOffer(raw.offer, limits.maxSdpChars);
      if (problem) throw new ViewerProtocolError(problem, id);
      return { type: 'talk', id, gateway, camera, offer: raw.offer };
    }
    case 'candidate': {
      const id = str(raw, 'id', STREAM_ID, 'player id');
      const c = raw.candidate;
      if (!isObject(c)) throw new ViewerProtocolError('The page sent an invalid network candidate.', id);
      const cand = c.candidate;
      if (typeof cand !== 'string' || cand.length > MAX_CANDIDATE_CHARS || !CANDIDATE.test(cand)) {
        throw new ViewerProtocolError('The page sent an invalid network candidate.', id);
      }
      const out: IceCandidateMessage = { candidate: cand };
      if (c.sdpMid !== undefined && c.sdpMid !== null) {
        if (typeof c.sdpMid !== 'string' || !/^[A-Za-z0-9_-]{0,32}$/.test(c.sdpMid)) {
          throw new ViewerProtocolError('The page sent an invalid network candidate.', id);
        }
        out.sdpMid = c.sdpMid;
      }
      if (c.sdpMLineIndex !== undefined && c.sdpMLineIndex !== null) {
        const i = c.sdpMLineIndex;
        if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i > 63) {
          throw new ViewerProtocolError('The page sent an invalid network candidate.', id);
        }
        out.sdpMLineIndex = i;
      }
      return { type: 'candidate', id, candidate: out };
    }
    default:
      throw new ViewerProtocolError('The page sent a message of a kind the hub does not know.');
  }
}
