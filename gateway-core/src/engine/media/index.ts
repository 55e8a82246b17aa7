/** The built-in engine's media plane: shared RTSP pulls with a GOP cache, and WebRTC viewers (werift). */
export { SharedRtspSources } from './shared-rtsp-sources.js';
export type { RtspSourceHandle } from './rtsp-source-handle.js';
export { StreamConditioner, NOTICE_MESSAGES, type StreamNotice } from './stream-conditioner.js';
export { Transcoder, findFfmpeg, transcoderArgs } from './transcoder.js';
export { NonReferenceFilter } from './bframe-filter.js';
export { AnnexBSplitter, H264AccessUnitAssembler, toAnnexB } from './annexb.js';
export { WebRtcPeer } from './webrtc-peer.js';
export { parseH264Payloads, restrictVideoPayloads, selectH264Payload, type H264Payload } from './h264-sdp.js';
export { GopCache } from './gop-cache.js';
export { TimestampRebaser } from './timestamp-rebaser.js';
export { RtpSender } from './rtp-sender.js';
export { SrtpProtector, deriveSessionKey } from './srtp.js';
