/** The built-in engine's media plane: shared RTSP pulls with a GOP cache, and WebRTC viewers (werift). */
export {
  SharedRtspSources,
  DEFAULT_SHARED_RTSP_SOURCES_OPTIONS,
  type RtspSourceHandle,
  type RtspSourceHandleEvents,
  type RtspSourceState,
  type SharedRtspSourcesOptions,
} from './shared-rtsp-sources.js';
export {
  StreamConditioner,
  NOTICE_MESSAGES,
  type StreamConditionerEvents,
  type StreamConditionerOptions,
  type StreamNotice,
} from './stream-conditioner.js';
export {
  Transcoder,
  findFfmpeg,
  transcoderArgs,
  DEFAULT_TRANSCODER_OPTIONS,
  type TranscoderEvents,
  type TranscoderOptions,
} from './transcoder.js';
export { NonReferenceFilter } from './bframe-filter.js';
export { AnnexBSplitter, H264AccessUnitAssembler, toAnnexB } from './annexb.js';
export { WebRtcPeer, type IceCandidateInfo, type WebRtcPeerEvents } from './webrtc-peer.js';
export { isAccessUnit, type ReplayedAccessUnit } from './access-unit.js';
export {
  DEFAULT_WEBRTC_PEER_OPTIONS,
  resolveWebRtcPeerOptions,
  type IceServer,
  type WebRtcPeerOptions,
} from './webrtc-peer-options.js';
export { buildPeerConfig, OFFER_H264 } from './werift-config.js';
export {
  FALLBACK_PROFILE_LEVEL_ID,
  MAX_SDP_BYTES,
  parseH264Payloads,
  restrictVideoPayloads,
  selectH264Payload,
  type H264Payload,
} from './h264-sdp.js';
export { GopCache } from './gop-cache.js';
export { TimestampRebaser, type TimestampRebaserOptions } from './timestamp-rebaser.js';
export {
  RtpSender,
  DEFAULT_RTP_SENDER_OPTIONS,
  RTP_SENDER_MTU_RANGE,
  type RtpSenderEvents,
  type RtpSenderOptions,
  type RtpSenderStats,
} from './rtp-sender.js';
export { SrtpProtector, SRTP_SUITES, deriveSessionKey, sdpSuiteName, type SrtpSuite } from './srtp.js';
export { parseRemoteRtp, buildLocalRtp, assertUnicastTarget, type RemoteRtpDescription } from './rtp-sdp.js';
