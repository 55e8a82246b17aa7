/**
 * What the hub may ask the media backend to do — as data, so it can be read,
 * reviewed and replaced in tests (aedes-style injected policy). The engine
 * (`policy.ts`) only interprets it. Anything not listed here is refused.
 *
 * Why an allow-list: measured against Kurento Media Server 7.3 with nothing
 * in front (ARCHITECTURE.md §3), `getUri` returns the camera URL with its
 * password, `getGstreamerDot` contains it too, `http://` players make KMS
 * fetch LAN URLs, `file://` players/recorders read and write files, and any
 * connection can drive any other connection's objects by id.
 */
import type { KurentoMethod } from './types.js';

/**
 * How a parameter value is checked.
 * - `pipeline`: an id of a MediaPipeline owned by the session (or `newref:N` to one).
 * - `element`: an id of a media element owned by the session (or `newref:N` to one).
 * - `camera-uri`: `camera://ID` of a camera the resolver knows; rewritten to the real URL.
 * - `boolean`, `integer` (safe, ≥ 0): scalars.
 * - `token`: a short identifier-like string (`VIDEO`, `RSA`, `AF41`).
 * - `host`: a host name or IP literal (no scheme, path or credentials).
 * - `text`: a string up to 1 KiB (media descriptions, TURN URL).
 * - `sdp`: a string up to 64 KiB (SDP offers/answers) whose `c=`, `a=rtcp` and `a=candidate` addresses pass
 *   the viewer-address rule (policy-targets.ts).
 * - `scalar-object`: a flat object of scalars (SDES, offer options).
 * - `turn-url`: a Kurento `user:password@host:port?transport=` TURN URL to an allowed relay.
 * - `stun-host` / `stun-port`: a STUN server address / port the gateway allows.
 * - `ice-candidate`: a flat `IceCandidate` object whose address passes the viewer-address rule.
 */
export type ParamKind =
  | 'pipeline'
  | 'element'
  | 'camera-uri'
  | 'boolean'
  | 'integer'
  | 'token'
  | 'host'
  | 'text'
  | 'sdp'
  | 'scalar-object'
  | 'turn-url'
  | 'stun-host'
  | 'stun-port'
  | 'ice-candidate';

export interface OperationRule {
  /** Why viewing needs it. */
  why: string;
  /** Allowed operationParams (name → kind); any other name is refused. */
  params?: Readonly<Record<string, ParamKind>>;
}

export interface TypeRule {
  /** The type whose operations and events this one inherits (Kurento class hierarchy). */
  extends?: string;
  /** Whether the hub may `create` it; abstract types are never creatable. */
  creatable: boolean;
  /** A gateway option that must be true for `create` to pass (`MediaTargetRules`), e.g. `allowRtpEndpoint`. */
  optIn?: 'allowRtpEndpoint';
  /** Allowed constructorParams (name → kind); anything else is refused. */
  constructorParams?: Readonly<Record<string, ParamKind>>;
  /** Names of constructorParams that must be present. */
  requiredParams?: readonly string[];
  /** Allowed `invoke` operations. */
  operations: Readonly<Record<string, OperationRule>>;
  /** Allowed `subscribe` event types (value: why). */
  events: Readonly<Record<string, string>>;
}

export interface KurentoRules {
  /** JSON-RPC methods the hub may send at the top level (value: why). */
  methods: Readonly<Partial<Record<KurentoMethod, string>>>;
  /** Types by canonical (unqualified) name. */
  types: Readonly<Record<string, TypeRule>>;
  /** What may be done with the server's `manager_ServerManager` object. */
  serverManager: {
    /** Whether `describe manager_ServerManager` is allowed (the official client does it on connect). */
    describe: boolean;
    /** Allowed invoke operations on it. */
    operations: Readonly<Record<string, OperationRule>>;
  };
  /** Most operations one `transaction` may carry. */
  maxTransactionOperations: number;
  /** Most objects one session may own at once (a bound on backend resources per viewer). */
  maxObjectsPerSession: number;
}

/** The rules the gateway applies unless configured otherwise. */
export const DEFAULT_KURENTO_RULES: KurentoRules = {
  methods: {
    ping: 'keepalive; the official client pings every 60 s with interval 5000',
    connect: 'the official client resumes its session after a reconnect',
    create: 'pipelines, camera players and WebRTC endpoints (types below)',
    invoke: 'the operations below, on objects the session owns',
    subscribe: 'ICE candidates and state events of owned objects',
    unsubscribe: 'the official client unsubscribes when a listener is removed',
    release: 'a viewer leaving releases what it made',
    describe: 'the official client describes manager_ServerManager on connect and objects after a reconnect',
    transaction: 'the official client batches operations; each one is checked like a top-level request',
  },
  types: {
    MediaObject: {
      creatable: false,
      operations: {},
      events: { Error: 'errors of a viewer’s own objects (messages are sanitised on the way back)' },
    },
    MediaPipeline: {
      extends: 'MediaObject',
      creatable: true,
      // No constructor params: KMS 7.3 MediaPipeline has none the client needs.
      constructorParams: {},
      // NOT getGstreamerDot / dumpGstreamerDot: the dot graph contains the player URI with its password.
      // NOT getLatencyStats / setLatencyStats: diagnostics only.
      operations: {},
      events: {},
    },
    MediaElement: {
      extends: 'MediaObject',
      creatable: false,
      operations: {
        connect: {
          why: 'player → WebRTC endpoint',
          params: { sink: 'element', mediaType: 'token', sourceMediaDescription: 'text', sinkMediaDescription: 'text' },
        },
        disconnect: {
          why: 'undo connect',
          params: { sink: 'element', mediaType: 'token', sourceMediaDescription: 'text', sinkMediaDescription: 'text' },
        },
        isMediaFlowingIn: { why: 'viewer health', params: { mediaType: 'token', sinkMediaDescription: 'text' } },
        isMediaFlowingOut: { why: 'viewer health', params: { mediaType: 'token', sourceMediaDescription: 'text' } },
        // NOT getStats: per-element stats carry local addresses of the media host; not needed to view.
        // NOT getGstreamerDot: carries the player URI with credentials.
        // NOT getSourceConnections / getSinkConnections: may name objects of other sessions.
      },
      events: {
        ElementConnected: 'connection progress',
        ElementDisconnected: 'connection progress',
        MediaFlowInStateChanged: 'viewer health',
        MediaFlowOutStateChanged: 'viewer health',
      },
    },
    SdpEndpoint: {
      extends: 'MediaElement',
      creatable: false,
      operations: {
        processOffer: { why: 'SDP negotiation with the browser', params: { offer: 'sdp' } },
        processAnswer: { why: 'SDP negotiation with the browser', params: { answer: 'sdp' } },
        generateOffer: { why: 'SDP negotiation started by the backend', params: { options: 'scalar-object' } },
        // NOT getLocalSessionDescriptor / getRemoteSessionDescriptor: not needed; the SDP comes back from processOffer.
      },
      events: { MediaSessionStarted: 'session progress', MediaSessionTerminated: 'session progress' },
    },
    BaseRtpEndpoint: {
      extends: 'SdpEndpoint',
      creatable: false,
      operations: {
        getMediaState: { why: 'viewer health' },
        getConnectionState: { why: 'viewer health' },
        requestKeyframe: { why: 'a viewer joining mid-stream needs an IDR frame' },
      },
      events: { ConnectionStateChanged: 'viewer health', MediaStateChanged: 'viewer health' },
    },
    WebRtcEndpoint: {
      extends: 'BaseRtpEndpoint',
      creatable: true,
      constructorParams: {
        mediaPipeline: 'pipeline',
        recvonly: 'boolean',
        sendonly: 'boolean',
        useDataChannels: 'boolean',
        certificateKeyType: 'token',
        qosDscp: 'token',
      },
      requiredParams: ['mediaPipeline'],
      operations: {
        gatherCandidates: { why: 'trickle ICE' },
        // The media backend sends connectivity checks to each candidate (RFC 8445 §7.2): public addresses only,
        // unless the gateway allows LAN viewers.
        addIceCandidate: { why: 'trickle ICE from the browser', params: { candidate: 'ice-candidate' } },
        // The backend contacts these servers (RFC 8489 / RFC 8656; TURN over TCP opens a TCP connection), so only
        // relays the gateway allows: its mediaTargets, by default the hub's host and the TURN servers it advertised.
        setStunServerAddress: { why: 'NAT traversal', params: { stunServerAddress: 'stun-host' } },
        setStunServerPort: { why: 'NAT traversal', params: { stunServerPort: 'stun-port' } },
        setTurnUrl: { why: 'media relays through TURN', params: { turnUrl: 'turn-url' } },
        // NOT getTurnUrl / getStunServerAddress: echo settings; NOT setNetworkInterfaces / setExternalIPv4/6:
        // they change how the media host binds on the LAN. NOT createDataChannel: viewing needs no data.
      },
      events: {
        IceCandidateFound: 'trickle ICE to the browser',
        IceGatheringDone: 'trickle ICE',
        IceComponentStateChanged: 'ICE progress',
        NewCandidatePairSelected: 'ICE progress',
        DtlsConnectionStateChange: 'DTLS progress',
      },
    },
    RtpEndpoint: {
      extends: 'BaseRtpEndpoint',
      creatable: true,
      // An RtpEndpoint streams to the c= address of an SDP the hub supplies (measured: 20 endpoints sent ~1,400
      // packets/s to a target of the hub's choosing). The Homebridge plugin talks to the backend directly, not
      // through the hub, so viewing needs none: refused unless the gateway sets allowRtpEndpoint.
      optIn: 'allowRtpEndpoint',
      constructorParams: { mediaPipeline: 'pipeline', crypto: 'scalar-object', useIpv6: 'boolean' },
      requiredParams: ['mediaPipeline'],
      operations: {},
      events: {},
    },
    PlayerEndpoint: {
      extends: 'MediaElement',
      creatable: true,
      // uri is only ever camera://ID; the real RTSP URL (with credentials) is substituted here on the gateway.
      constructorParams: {
        mediaPipeline: 'pipeline',
        uri: 'camera-uri',
        networkCache: 'integer',
        useEncodedMedia: 'boolean',
      },
      requiredParams: ['mediaPipeline', 'uri'],
      operations: {
        play: { why: 'start pulling the camera' },
        pause: { why: 'viewer paused' },
        stop: { why: 'viewer stopped' },
        // NOT getUri: returns the real camera URL with its password. NOT setPosition/getPosition/getVideoInfo:
        // meaningless for live RTSP. NOT getElementGstreamerDot: carries the URI.
      },
      events: {
        EndOfStream: 'camera stream ended',
        UriEndpointStateChanged: 'player state',
        // The built-in engine's camera state (connecting/live/reconnecting/unreachable + plain-words reason).
        CameraStateChanged: 'camera state on the viewer tile',
      },
    },
  },
  serverManager: {
    describe: true,
    operations: {
      // The official client (strict mode) calls getInfo on connect to check the installed modules.
      getInfo: { why: 'kurento-client checks server modules on connect' },
      // NOT getPipelines / getSessions: they list other sessions' objects. NOT getKmd, getMetadata,
      // getUsedCpu/Memory, getCpuCount: host details the hub does not need.
    },
  },
  maxTransactionOperations: 64,
  maxObjectsPerSession: 64,
};

/** The KMS module prefix the policy strips before matching (`kurento.PlayerEndpoint` → `PlayerEndpoint`). */
export const KURENTO_MODULE_PREFIX = 'kurento.';
