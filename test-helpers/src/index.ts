/**
 * @camgate/test-helpers — what the tests of more than one package share: Chromium and pages for it, coturn, an
 * IGD responder, an SRTP receiver, audio analysis (dominant frequency), a hub + gateway + engine stack, a TCP proxy that can cut connections, and
 * bounded waits. Private (never published); loaded as TypeScript through tsx. Helpers only one package's tests
 * use stay in that package's test/helpers/.
 */
export { within, until, waitUntil } from './bounded.js';
export { dominantFrequency, tonePower, firstLoudSample, type DominantFrequencyOptions } from './audio.js';
export {
  AUDIO_VIEWER_HTML,
  AV_SYNC_VIEWER_HTML,
  openAudioViewer,
  measureAvOffsets,
  type AudioViewer,
  type AudioViewerStats,
} from './audio-viewer.js';
export {
  CHROMIUM_PATH,
  CHROMIUM_ARGS,
  launchChromium,
  servePage,
  VIEWER_PAGE_HTML,
  openViewerPage,
  type ViewerStats,
  type ViewerPage,
} from './browser.js';
export {
  launchViewerBrowser,
  signIn,
  failedSignIn,
  listedCameras,
  watch,
  players,
  player,
  stats,
  pictureHash,
  untilOnPage,
  type PlayerInfo,
  type PlayerStats,
} from './viewer-browser.js';
export {
  CONFIGURABLE_VIEWER_HTML,
  connectKurento,
  playThroughKurento,
  type ViewerRtcConfig,
  type ConfigurableViewerStats,
  type ConfigurableViewer,
  type PlayOptions,
} from './engine-viewer.js';
export { TURNSERVER_PATH, stunBinding, startCoturn, type CoturnOptions, type Coturn } from './coturn.js';
export { startIgdResponder, type IgdMapping, type IgdResponderOptions, type IgdResponder } from './igd.js';
export { startSrtpReceiver, receiverSdp, type ReceivedPacket, type SrtpReceiver } from './srtp-receiver.js';
export { startStack, GATEWAY_ID, GATEWAY_SECRET, type Stack, type StackOptions } from './stack.js';
export { TcpProxy } from './tcp-proxy.js';
export { unmaskClientStream } from './websocket-bytes.js';
export {
  closedPort,
  startRtspServer,
  startHttpServer,
  startTelnetServer,
  startHangServer,
  startGarbageServer,
  TEST_SDP,
  type TestService,
  type RtspServerOptions,
  type HttpServerOptions,
} from './exposure.js';
export { makeSelfSignedCert, type SelfSignedCert } from './tls.js';
export { encodeOpusTone, decodeOpus, oggOpus, oggPackets, opusSamples48k, toneFrequency } from './opus-audio.js';
