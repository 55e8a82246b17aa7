/**
 * What talking through a camera's speaker needs from the Kurento policy
 * (issue 15, docs/kurento-policy.md "Talking back"), and nothing more:
 *
 * - the hub's talk grant for the relayed connection: the channel's meta
 *   names the cameras this connection may talk through (`talk: ['cam1']`),
 *   which the hub sets only for a signed-in viewer whose account may talk;
 * - a WebRtcEndpoint `connect`ing to the PlayerEndpoint of such a camera with
 *   `mediaType: 'AUDIO'` — the player then acts as the sink of the camera's
 *   RTSP back channel (ONVIF Streaming Spec §5.3, `www.onvif.org/ver20/backchannel`);
 * - an SDP whose audio section sends (sendrecv/sendonly from the browser).
 *
 * Without the grant, both are refused with the rule `talk-not-granted`; any
 * other connection into a PlayerEndpoint (video, player → player, all media
 * types) is refused with `talk-connect` even with it.
 */
import type { JsonObject } from './jsonrpc.js';
import { PolicyDenied } from './policy-denied.js';

/** Most cameras one channel's talk grant may name (a viewer talks through one at a time). */
export const MAX_TALK_CAMERAS = 16;
/** A camera id as `camera://ID` allows it (policy-params.ts CAMERA_URI). */
const CAMERA_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Options of one policy session (`KurentoPolicy.createSession`). */
export interface PolicySessionOptions {
  /** Cameras this session may talk through; none when omitted. */
  talkCameras?: readonly string[];
}

/**
 * The talk grant in a tunnel channel's meta (`{kind: 'kurento', talk: ['cam1']}`), validated: anything that is
 * not a short list of camera ids is no grant at all (and says so in the log at the caller).
 */
export function talkGrantFromMeta(meta: Readonly<Record<string, unknown>>): string[] {
  const talk = meta.talk;
  if (talk === undefined) return [];
  if (
    !Array.isArray(talk) ||
    talk.length > MAX_TALK_CAMERAS ||
    !talk.every((c): c is string => typeof c === 'string' && CAMERA_ID.test(c))
  ) {
    throw new TypeError(`channel meta talk: must be a list of at most ${MAX_TALK_CAMERAS} camera ids`);
  }
  return [...new Set(talk)];
}

/**
 * Whether an SDP (offer or answer from the browser) has an audio section that sends toward the media backend:
 * direction `sendrecv` or `sendonly` on the m-section, else at session level, else the default `sendrecv`
 * (RFC 8866 §6.7). A section with port 0 is disabled (RFC 8843 §7.3, RFC 3264 §6) and sends nothing.
 */
export function sdpSendsAudio(sdp: string): boolean {
  const lines = sdp.split(/\r?\n/);
  let sessionDirection: string | undefined;
  let inSession = true;
  let audio: { enabled: boolean; direction: string | undefined } | undefined;
  const sections: { enabled: boolean; direction: string | undefined }[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inSession = false;
      const [kind, port] = line.slice(2).split(' ');
      audio = kind === 'audio' ? { enabled: port !== '0', direction: undefined } : undefined;
      if (audio) sections.push(audio);
      continue;
    }
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line)?.[1];
    if (dir === undefined) continue;
    if (inSession) sessionDirection = dir;
    else if (audio) audio.direction = dir;
  }
  return sections.some((s) => {
    const d = s.direction ?? sessionDirection ?? 'sendrecv';
    return s.enabled && (d === 'sendrecv' || d === 'sendonly');
  });
}

/** What `checkTalkConnect` needs from the session. */
export interface TalkContext {
  typeOf(ref: string): string | undefined;
  /** The camera id of an owned PlayerEndpoint (or `newref:N` to one). */
  cameraOf(ref: string): string | undefined;
  talkCameras: ReadonlySet<string>;
}

/**
 * `source.connect({sink, mediaType})` into a PlayerEndpoint is the talk path: allowed only from a
 * WebRtcEndpoint, for AUDIO alone, into the player of a camera the session may talk through. Connections
 * whose sink is not a PlayerEndpoint (player → WebRTC, viewing) are not this function's business.
 */
export function checkTalkConnect(sourceType: string, operationParams: JsonObject, ctx: TalkContext): void {
  const sink = operationParams.sink;
  if (typeof sink !== 'string' || ctx.typeOf(sink) !== 'PlayerEndpoint') return;
  const camera = ctx.cameraOf(sink);
  if (camera === undefined || !ctx.talkCameras.has(camera)) {
    throw new PolicyDenied('talk-not-granted', `connect into the player of ${camera ?? 'a camera'}`);
  }
  if (sourceType !== 'WebRtcEndpoint' || operationParams.mediaType !== 'AUDIO') {
    throw new PolicyDenied('talk-connect', 'only a WebRtcEndpoint with mediaType AUDIO may connect into a player');
  }
}
