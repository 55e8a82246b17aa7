/** RTSP client and H.264 RTP: the camera side of the built-in media engine. */
export {
  H264Depacketizer,
  H264Packetizer,
  NAL_TYPE,
  nalType,
  DEFAULT_H264_DEPACKETIZER_OPTIONS,
  DEFAULT_H264_PACKETIZER_OPTIONS,
  type H264AccessUnit,
  type H264DepacketizerOptions,
  type H264DepacketizerStats,
  type H264PacketizerOptions,
} from './h264-rtp.js';
export { parseRtpHeader, buildRtpPacket, seqDelta, type RtpHeader } from './rtp.js';
