/** RTSP client and H.264 RTP: the camera side of the built-in media engine. */
export {
  H264Depacketizer,
  H264Packetizer,
  fragmentNalu,
  NAL_TYPE,
  nalType,
  type H264AccessUnit,
  type H264PacketizerOptions,
} from './h264-rtp.js';
export { H265Depacketizer, h265NalType, insertH265ParameterSets } from './h265-rtp.js';
export {
  parseH264Sps,
  spsWithoutReordering,
  sliceType,
  nalRefIdc,
  h264ProfileName,
  SLICE_TYPE,
  type H264SpsInfo,
} from './h264-bitstream.js';
export { parseRtpHeader, buildRtpPacket, type RtpHeader } from './rtp.js';
export { parseSdp, findH265Track } from './sdp.js';
export {
  parseWwwAuthenticate,
  basicAuthorization,
  digestAuthorization,
  computeDigestResponse,
  digestAlgorithm,
  parseDigestCredentials,
  type DigestResponseParams,
} from './digest-auth.js';
export { RtspClient, type RtspVideoInfo } from './rtsp-client.js';
export { type RtspAudioInfo, type RtspAudioCodec } from './sdp-audio.js';
export { type RtspAudioFrame } from './audio-rtp.js';
export { type RtspSenderReport, type RtspNotice, MAX_BACKCHANNEL_PAYLOAD_BYTES } from './rtsp-audio.js';
export { aacRtpPayload, adtsFrame, parseAudioSpecificConfig, type AudioSpecificConfig } from './aac.js';
export { type RtspClientOptions } from './rtsp-client-options.js';
export { BitWriter } from './bit-writer.js';
export { makeNalUnit, NAL_UNIT_TYPE } from './nal-unit.js';
