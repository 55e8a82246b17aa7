/**
 * What a person sees when a camera does not play: a sentence, not a stack
 * trace. Maps the media backend's `Error` events (the engine puts the RTSP
 * client's CAMGATE_RTSP_* code in the description; KMS uses its own texts),
 * Kurento JSON-RPC errors and connection failures to plain words. Messages
 * from the backend are never passed through verbatim: they may name hosts.
 */
import { KurentoRpcError } from '../../kurento/index.js';
import { CamgateError } from '../../util/index.js';

export interface PlainError {
  /** Stable code for the page and tests (`CAMGATE_VIEWER_*`). */
  code: string;
  /** The sentence shown to the person. */
  message: string;
}

export const PLAIN = {
  cameraAuth: {
    code: 'CAMGATE_VIEWER_CAMERA_AUTH',
    message: 'Camera unreachable: wrong password. The camera rejected the password configured on your gateway.',
  },
  cameraUnreachable: {
    code: 'CAMGATE_VIEWER_CAMERA_UNREACHABLE',
    message:
      'Camera unreachable: no answer. Your gateway could not reach the camera on your home network. Is it switched on and connected?',
  },
  cameraNotFound: {
    code: 'CAMGATE_VIEWER_CAMERA_PATH',
    message: 'Camera unreachable: no stream at the address configured on your gateway.',
  },
  cameraStream: {
    code: 'CAMGATE_VIEWER_CAMERA_STREAM',
    message: 'Camera unreachable: unsupported stream. The camera sent a stream your gateway cannot play.',
  },
  cameraFailed: { code: 'CAMGATE_VIEWER_CAMERA_FAILED', message: 'The camera stopped sending video.' },
  gatewayOffline: {
    code: 'CAMGATE_VIEWER_GATEWAY_OFFLINE',
    message: 'Gateway offline: the gateway at home is not connected to the hub right now.',
  },
  gatewayLost: {
    code: 'CAMGATE_VIEWER_GATEWAY_LOST',
    message: 'The connection to the gateway at home was lost.',
  },
  gatewayTimeout: {
    code: 'CAMGATE_VIEWER_GATEWAY_TIMEOUT',
    message: 'The gateway at home did not answer in time.',
  },
  unknownCamera: {
    code: 'CAMGATE_VIEWER_UNKNOWN_CAMERA',
    message: 'Your gateway does not know this camera any more.',
  },
  notGranted: { code: 'CAMGATE_VIEWER_NOT_GRANTED', message: 'You do not have access to this camera.' },
  badOffer: {
    code: 'CAMGATE_VIEWER_BAD_OFFER',
    message: 'Your browser offered video the media server cannot use. Try a current Chrome, Firefox or Safari.',
  },
  tooMany: { code: 'CAMGATE_VIEWER_LIMIT', message: 'Too many cameras open at once. Close one first.' },
  busy: { code: 'CAMGATE_VIEWER_DUPLICATE', message: 'This player is already open.' },
  signedOut: { code: 'CAMGATE_VIEWER_SIGNED_OUT', message: 'You are signed out. Sign in again to watch.' },
  talkNotAllowed: {
    code: 'CAMGATE_VIEWER_TALK_NOT_ALLOWED',
    message: 'You may not talk through this camera. Ask whoever runs the hub to allow it.',
  },
  talkBusy: {
    code: 'CAMGATE_VIEWER_TALK_BUSY',
    message: 'Busy — someone else is talking through this camera. Try again when they are done.',
  },
  noSpeaker: {
    code: 'CAMGATE_VIEWER_NO_SPEAKER',
    message: 'This camera has no speaker the gateway can reach (no audio back channel).',
  },
  internal: { code: 'CAMGATE_VIEWER_FAILED', message: 'Something went wrong while opening the camera. Try again.' },
} as const satisfies Record<string, PlainError>;

/** The player's `Error` event (Kurento `MediaObject.Error`: description, errorCode, type) in plain words. */
export function describePlayerError(data: { description?: unknown; type?: unknown }): PlainError {
  const text = `${typeof data.type === 'string' ? data.type : ''} ${typeof data.description === 'string' ? data.description : ''}`;
  const talk = talkError(text);
  if (talk) return talk;
  if (/CAMGATE_RTSP_AUTH|401|403|unauthori[sz]ed|authenticat/i.test(text)) return PLAIN.cameraAuth;
  if (/CAMGATE_RTSP_NOT_FOUND|404|not found/i.test(text)) return PLAIN.cameraNotFound;
  if (
    /CAMGATE_RTSP_(CONNECT|TIMEOUT)|ECONNREFUSED|EHOSTUNREACH|timed? ?out|could not (connect|be reached)/i.test(text)
  ) {
    return PLAIN.cameraUnreachable;
  }
  if (/CAMGATE_RTSP_(SDP|UNSUPPORTED)|codec|H\.?264/i.test(text)) return PLAIN.cameraStream;
  return PLAIN.cameraFailed;
}

/** A failure while setting a player up, in plain words. */
export function describeFailure(err: unknown, step: 'connect' | 'offer' | 'setup'): PlainError {
  if (err instanceof KurentoRpcError) {
    const msg = err.data.message ?? '';
    const talk = talkError(`${msg} ${err.message}`);
    if (talk) return talk;
    if (/^camgate policy: camera-unknown/.test(msg)) return PLAIN.unknownCamera;
    if (step === 'offer' || /SDP|offer/i.test(msg)) return PLAIN.badOffer;
    return PLAIN.internal;
  }
  if (err instanceof CamgateError) {
    if (err.code === 'CAMGATE_KURENTO_TIMEOUT') return PLAIN.gatewayTimeout;
    if (err.code === 'CAMGATE_KURENTO_CLOSED') return step === 'connect' ? PLAIN.gatewayOffline : PLAIN.gatewayLost;
  }
  return PLAIN.internal;
}

/** The talk path's refusals (engine error codes in docs/errors.md, the policy's talk rules) in plain words. */
function talkError(text: string): PlainError | undefined {
  if (/CAMGATE_ENGINE_TALK_BUSY/.test(text)) return PLAIN.talkBusy;
  if (/CAMGATE_ENGINE_NO_BACKCHANNEL/.test(text)) return PLAIN.noSpeaker;
  if (/camgate policy: talk-/.test(text)) return PLAIN.talkNotAllowed;
  return undefined;
}
