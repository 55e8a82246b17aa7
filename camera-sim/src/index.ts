/** The simulated camera: a live H.264 test pattern over RTSP with Digest auth, plus a cheap DVR's weak services. */
export { startCameraSim, type CameraSim, type CameraSimStats, type CameraSimAudioInfo } from './camera-sim.js';
export {
  DEFAULT_CAMERA_SIM_AUDIO_OPTIONS,
  type CameraSimAudioOptions,
  type CameraSimBackchannelOptions,
  type CameraSimSyncMarkOptions,
} from './audio-options.js';
export { SYNC_BEEP_MS, syncFlashFrames } from './audio-signal.js';
export type { SimAudioCodec } from './audio-track.js';
export type { BackchannelRecording } from './backchannel.js';
export { g711Encode, g711Decode, type G711Law } from './g711.js';
export { DEFAULT_CAMERA_SIM_OPTIONS, type CameraSimOptions } from './camera-sim-options.js';
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
