/**
 * `@camgate/core/rtsp-wire` — the RTSP and RTP wire building blocks that code
 * outside the core speaks too: the simulated camera (`@camgate/camera-sim`)
 * packetises its pictures and checks Digest answers with them, and test
 * receivers depacketise what the engine or a camera sent; the simulated camera
 * writes its H.264 with the bit writer and NAL framing the core's SPS rewrite uses;
 * and the RTSP client pulls a camera outside the engine (as an NVR would) in benches. A subpath rather
 * than the main face, so the main face stays what an integrator needs.
 */
export {
  H264Packetizer,
  H264Depacketizer,
  parseRtpHeader,
  type H264AccessUnit,
  type H264PacketizerOptions,
  type RtpHeader,
} from './rtsp/index.js';
export {
  parseWwwAuthenticate,
  digestAuthorization,
  computeDigestResponse,
  parseDigestCredentials,
  type DigestResponseParams,
} from './rtsp/index.js';
export { BitWriter, makeNalUnit, NAL_UNIT_TYPE } from './rtsp/index.js';
export { RtspClient, type RtspClientOptions, type RtspAudioInfo } from './rtsp/index.js';
export { aacRtpPayload, adtsFrame, parseAudioSpecificConfig } from './rtsp/index.js';
