/** The simulated camera: a live H.264 test pattern over RTSP with Digest auth, plus a cheap DVR's weak services. */
export {
  startCameraSim,
  DEFAULT_CAMERA_SIM_OPTIONS,
  type CameraSim,
  type CameraSimOptions,
  type CameraSimStats,
} from './camera-sim.js';
export {
  H264TestPatternEncoder,
  DEFAULT_H264_TEST_PATTERN_ENCODER_OPTIONS,
  type EncodedPicture,
  type H264TestPatternEncoderOptions,
} from './h264-encoder.js';
export { DigestAuthenticator, type DigestCredentials, type DigestResult } from './digest-auth.js';
export { SIM_TRANSPORTS, type SimTransport } from './rtsp-transport.js';
export { readFrameCounter } from './test-pattern.js';
export { DVR_SERVER_HEADER, DVR_TITLE, TELNET_PROMPT } from './vulnerable-services.js';
