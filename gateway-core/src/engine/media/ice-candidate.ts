import { CamgateError } from '../../util/index.js';

/** A remote ICE candidate as Kurento's `addIceCandidate` carries it. */
export interface RemoteCandidate {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

/** Longest candidate line accepted (a real one is ~100-200 characters). */
export const MAX_CANDIDATE_CHARS = 1024;

/** Validates a candidate from the network; throws CAMGATE_ENGINE_ICE. Strips an `a=` prefix. */
export function validateCandidate(c: unknown): RemoteCandidate {
  if (c === null || typeof c !== 'object')
    throw new CamgateError('CAMGATE_ENGINE_ICE', 'an ICE candidate must be an object');
  const { candidate, sdpMid, sdpMLineIndex } = c as Record<string, unknown>;
  if (typeof candidate !== 'string' || candidate.length > MAX_CANDIDATE_CHARS) {
    throw new CamgateError(
      'CAMGATE_ENGINE_ICE',
      `candidate must be a string of at most ${MAX_CANDIDATE_CHARS} characters`,
    );
  }
  if (candidate !== '' && !/^(a=)?candidate:\S+ \d+ (udp|tcp) \d+ \S+ \d+ typ \w+/i.test(candidate)) {
    throw new CamgateError('CAMGATE_ENGINE_ICE', 'candidate is not an ICE candidate line (RFC 8839 §5.1)');
  }
  if (sdpMid !== undefined && sdpMid !== null && (typeof sdpMid !== 'string' || sdpMid.length > 64)) {
    throw new CamgateError('CAMGATE_ENGINE_ICE', 'sdpMid must be a string of at most 64 characters');
  }
  if (
    sdpMLineIndex !== undefined &&
    sdpMLineIndex !== null &&
    (typeof sdpMLineIndex !== 'number' || !Number.isInteger(sdpMLineIndex) || sdpMLineIndex < 0 || sdpMLineIndex > 255)
  ) {
    throw new CamgateError('CAMGATE_ENGINE_ICE', 'sdpMLineIndex must be an integer 0..255');
  }
  const out: RemoteCandidate = {
    candidate: candidate.replace(/^a=/, ''),
  };
  if (typeof sdpMid === 'string') out.sdpMid = sdpMid;
  if (typeof sdpMLineIndex === 'number') out.sdpMLineIndex = sdpMLineIndex;
  return out;
}
