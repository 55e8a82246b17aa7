/**
 * The Kurento classes the engine knows, with their hierarchy and events as
 * kurento-client-core/elements 7.3.0 describe them (src/*.kmd.json). The
 * event lists matter: kurento-client refuses to subscribe to an event its kmd
 * does not list, and KMS answers 40106 for one the class does not raise, so
 * the engine accepts exactly the kmd's events — including those it never
 * raises (DataChannelOpened…) — so `on(...)` never fails in a client.
 */
export interface TypeInfo {
  /** Short type name (`WebRtcEndpoint`). */
  readonly type: string;
  /** `kurento.WebRtcEndpoint`. */
  readonly qualifiedType: string;
  /** Qualified ancestors, nearest first, as KMS's `describe` returns them. */
  readonly hierarchy: readonly string[];
  /** Every event the class and its ancestors accept subscriptions for. */
  readonly events: readonly string[];
}

const MEDIA_OBJECT_EVENTS = ['Error'];
const SERVER_MANAGER_EVENTS = [...MEDIA_OBJECT_EVENTS, 'ObjectCreated', 'ObjectDestroyed'];
const MEDIA_ELEMENT_EVENTS = [
  ...MEDIA_OBJECT_EVENTS,
  'ElementConnected',
  'ElementDisconnected',
  'MediaFlowOutStateChanged',
  'MediaFlowInStateChanged',
  'MediaTranscodingStateChanged',
];
const URI_ENDPOINT_EVENTS = [...MEDIA_ELEMENT_EVENTS, 'UriEndpointStateChanged'];
const SESSION_ENDPOINT_EVENTS = [...MEDIA_ELEMENT_EVENTS, 'MediaSessionTerminated', 'MediaSessionStarted'];
const BASE_RTP_EVENTS = [...SESSION_ENDPOINT_EVENTS, 'MediaStateChanged', 'ConnectionStateChanged'];

const q = (t: string): string => `kurento.${t}`;

export const SERVER_MANAGER_TYPE: TypeInfo = {
  type: 'ServerManager',
  qualifiedType: q('ServerManager'),
  hierarchy: [q('MediaObject')],
  events: SERVER_MANAGER_EVENTS,
};

export const MEDIA_PIPELINE_TYPE: TypeInfo = {
  type: 'MediaPipeline',
  qualifiedType: q('MediaPipeline'),
  hierarchy: [q('MediaObject')],
  events: MEDIA_OBJECT_EVENTS,
};

export const PLAYER_ENDPOINT_TYPE: TypeInfo = {
  type: 'PlayerEndpoint',
  qualifiedType: q('PlayerEndpoint'),
  hierarchy: [q('UriEndpoint'), q('Endpoint'), q('MediaElement'), q('MediaObject')],
  // CameraStateChanged is the engine's own (player-endpoint.ts): KMS has no event for a reason in words.
  events: [...URI_ENDPOINT_EVENTS, 'EndOfStream', 'CameraStateChanged'],
};

export const WEBRTC_ENDPOINT_TYPE: TypeInfo = {
  type: 'WebRtcEndpoint',
  qualifiedType: q('WebRtcEndpoint'),
  hierarchy: [
    q('BaseRtpEndpoint'),
    q('SdpEndpoint'),
    q('SessionEndpoint'),
    q('Endpoint'),
    q('MediaElement'),
    q('MediaObject'),
  ],
  events: [
    ...BASE_RTP_EVENTS,
    'IceCandidateFound',
    'IceGatheringDone',
    'IceComponentStateChanged',
    'DtlsConnectionStateChange',
    'DataChannelOpened',
    'DataChannelClosed',
    'NewCandidatePairSelected',
  ],
};

export const RTP_ENDPOINT_TYPE: TypeInfo = {
  type: 'RtpEndpoint',
  qualifiedType: q('RtpEndpoint'),
  hierarchy: WEBRTC_ENDPOINT_TYPE.hierarchy,
  events: [...BASE_RTP_EVENTS, 'OnKeySoftLimit'],
};

/** `kurento.PlayerEndpoint` and `PlayerEndpoint` name the same type (KMS accepts both). */
export function normaliseTypeName(name: string): string {
  return name.startsWith('kurento.') ? name.slice('kurento.'.length) : name;
}
