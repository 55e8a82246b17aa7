/** RTSP client and H.264 RTP: the camera side of the built-in media engine. */
export {
  H264Depacketizer,
  H264Packetizer,
  fragmentNalu,
  NAL_TYPE,
  nalType,
  DEFAULT_H264_DEPACKETIZER_OPTIONS,
  DEFAULT_H264_PACKETIZER_OPTIONS,
  type H264AccessUnit,
  type H264DepacketizerOptions,
  type H264DepacketizerStats,
  type H264PacketizerOptions,
} from './h264-rtp.js';
export {
  H265Depacketizer,
  H265_NAL_TYPE,
  h265NalType,
  insertH265ParameterSets,
  DEFAULT_H265_DEPACKETIZER_OPTIONS,
  type H265DepacketizerOptions,
} from './h265-rtp.js';
export {
  BitReader,
  parseH264Sps,
  spsWithoutReordering,
  sliceType,
  nalRefIdc,
  h264ProfileName,
  SLICE_TYPE,
  type H264SpsInfo,
} from './h264-bitstream.js';
export { parseRtpHeader, buildRtpPacket, seqDelta, type RtpHeader } from './rtp.js';
export {
  RtspParser,
  getHeader,
  getHeaders,
  serializeInterleaved,
  serializeRequest,
  serializeResponse,
  DEFAULT_RTSP_PARSER_OPTIONS,
  type RtspFrame,
  type RtspHeaders,
  type RtspInterleavedFrame,
  type RtspParserOptions,
  type RtspRequest,
  type RtspResponse,
} from './rtsp-message.js';
export {
  parseSdp,
  findH264Track,
  findH265Track,
  resolveControl,
  decodeSpropParameterSets,
  type SdpH264Track,
  type SdpH265Track,
  type SdpMedia,
  type SdpSession,
} from './sdp.js';
export {
  parseWwwAuthenticate,
  chooseChallenge,
  basicAuthorization,
  digestAuthorization,
  digestResponse,
  computeDigestResponse,
  digestAlgorithm,
  parseDigestCredentials,
  type AuthChallenge,
  type DigestAlgorithm,
  type DigestInput,
  type DigestResponseParams,
} from './digest-auth.js';
export { parseRtspUrl, DEFAULT_RTSP_PORT, type ParsedRtspUrl } from './rtsp-url.js';
export { RtspClient, type RtspClientEvents, type RtspClientState, type RtspVideoInfo } from './rtsp-client.js';
export { DEFAULT_RTSP_CLIENT_OPTIONS, insertParameterSets, type RtspClientOptions } from './rtsp-client-options.js';
export { BitWriter } from './bit-writer.js';
export { makeNalUnit, NAL_UNIT_TYPE } from './nal-unit.js';
