/**
 * What RtspClient reads from a camera's answers during the handshake: the
 * status as a stable error code, the base URL of the stream's controls, and
 * the video's interleaved channels. The errors thrown here carry the
 * camera's reason phrase; RtspClient rebuilds every error through its
 * redaction before it leaves the client.
 */
import { CamgateError } from '../util/errors.js';
import { interleavedChannels } from './rtsp-audio.js';
import { getHeader } from './rtsp-message.js';
import type { RtspResponse } from './rtsp-message.js';
import { parseRtspUrl } from './rtsp-url.js';

/** Errors that a retry cannot fix. */
export const FATAL_RTSP_ERRORS: ReadonlySet<string> = new Set([
  'CAMGATE_RTSP_AUTH',
  'CAMGATE_RTSP_NOT_FOUND',
  'CAMGATE_RTSP_UNSUPPORTED',
  'CAMGATE_RTSP_STATUS',
]);

/** `res` when it is 2xx; else the error its status means for `method` on `url` (a URL without userinfo). */
export function expectOk(method: string, url: string, res: RtspResponse): RtspResponse {
  if (res.status >= 200 && res.status < 300) return res;
  const what = `${method} ${url}: ${res.status} ${res.reason}`;
  if (res.status === 404) throw new CamgateError('CAMGATE_RTSP_NOT_FOUND', what);
  if (res.status === 461) throw new CamgateError('CAMGATE_RTSP_UNSUPPORTED', what); // §11.4.14 Unsupported Transport
  // 5xx (busy, too many sessions) may pass; other 4xx will not.
  throw new CamgateError(res.status >= 500 ? 'CAMGATE_RTSP_SERVER' : 'CAMGATE_RTSP_STATUS', what);
}

/** RFC 2326 §C.1.1: Content-Base, else Content-Location, else the request URL; never with userinfo. */
export function contentBase(res: RtspResponse, requestUrl: string): string {
  const raw = getHeader(res.headers, 'content-base') ?? getHeader(res.headers, 'content-location');
  if (!raw) return requestUrl;
  try {
    return parseRtspUrl(raw).url;
  } catch {
    return requestUrl; // not an rtsp URL: ignore it rather than send requests somewhere odd
  }
}

/** Video `[rtp, rtcp]` channels of a SETUP answer; 0-1 when the camera's answer does not say. */
export function videoChannels(setup: RtspResponse): [number, number] {
  const transport = getHeader(setup.headers, 'transport') ?? '';
  if (transport && !/RTP\/AVP\/TCP/i.test(transport)) {
    throw new CamgateError('CAMGATE_RTSP_UNSUPPORTED', 'the camera did not accept RTP over TCP');
  }
  return interleavedChannels(setup) ?? [0, 1];
}
