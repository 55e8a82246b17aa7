import { KurentoRpcError } from '../errors.js';
import type {
  AccessUnit,
  AudioSinkLike,
  IceServer,
  PeerIceCandidate,
  RtspSourceHandleLike,
  WebRtcPeerLike,
} from '../media-plane.js';
import {
  isPlainObject,
  optionalBoolean,
  optionalInt,
  optionalString,
  requireInt,
  requireString,
  type Params,
} from '../params.js';
import { MediaElement } from './media-element.js';
import { SDP_BANDWIDTH_PROPERTIES, SdpNegotiation, sdpOperation } from './sdp-endpoint.js';
import type { ObjectHost } from './media-object.js';
import type { MediaPipeline } from './media-pipeline.js';
import { WEBRTC_ENDPOINT_TYPE } from './types.js';
import { WebRtcTalk } from './webrtc-talk.js';

/** Candidates a client may send before the SDP exchange (they are queued until then). */
const MAX_EARLY_CANDIDATES = 64;

type ConnState = 'CONNECTED' | 'DISCONNECTED';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- listeners of differently typed peer events
type Listener = (...args: any[]) => void;

/**
 * Parses KMS's `turnUrl` format, `user:password@address:port?transport=udp|tcp|tls`
 * (elements.kmd.json, WebRtcEndpoint.turnUrl). Errors never echo the value.
 * The user part may contain ':' — TURN REST usernames are `<expiry>:<user id>`
 * (draft-uberti-behave-turn-rest-00 §2.2) — so, as KMS does, the password is
 * what follows the last ':' before '@' (a base64 HMAC has neither ':' nor '@').
 */
export function parseTurnUrl(turnUrl: string): IceServer {
  const m = /^([^@\s]+):([^:@\s]+)@([^:@/\s?]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?(?:\?transport=(udp|tcp|tls))?$/.exec(
    turnUrl,
  );
  if (!m) {
    throw new KurentoRpcError(
      'MEDIA_OBJECT_ILLEGAL_PARAM_ERROR',
      "'turnUrl' must look like user:password@address:port?transport=udp|tcp|tls",
    );
  }
  const [, username, credential, address, port, transport] = m;
  const scheme = transport === 'tls' ? 'turns' : 'turn';
  const url = `${scheme}:${address}:${port ?? (transport === 'tls' ? '5349' : '3478')}`;
  return {
    urls: transport && transport !== 'tls' ? `${url}?transport=${transport}` : url,
    username: username!,
    credential: credential!,
  };
}

/**
 * A WebRtcEndpoint that sends the connected player's video to one viewer.
 * The peer is created on the first SDP operation, with the engine's ICE
 * servers plus whatever STUN/TURN the client set on this endpoint.
 */
export class WebRtcEndpoint extends MediaElement {
  #peer: WebRtcPeerLike | undefined;
  #listeners: [string, Listener][] = [];
  #earlyCandidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[] = [];
  readonly #sdp = new SdpNegotiation<WebRtcPeerLike>({
    side: () => this.#ensurePeer(),
    existing: () => this.#peer,
    onNegotiated: (peer) => this.#negotiatedNow(peer),
    refuseOfferAfterOwnOffer: false,
  });
  #stunAddress = '';
  #stunPort = 3478; // IANA STUN port, KMS default
  #turn: IceServer | undefined;
  #turnUrl = '';
  /** Push-to-talk: set while this endpoint is connected into a player with mediaType AUDIO (webrtc-talk.ts). */
  #talk: WebRtcTalk | undefined;
  #connectionState: ConnState = 'DISCONNECTED';
  #mediaState: ConnState = 'DISCONNECTED';

  constructor(host: ObjectHost, ownerSession: string, pipeline: MediaPipeline, params: Params) {
    if (optionalBoolean(params, 'recvonly') === true) {
      throw new KurentoRpcError(
        'MEDIA_OBJECT_OPERATION_NOT_SUPPORTED',
        'The camgate engine only sends media (recvonly)',
      );
    }
    optionalBoolean(params, 'sendonly');
    if (optionalBoolean(params, 'useDataChannels') === true) {
      throw new KurentoRpcError('MEDIA_OBJECT_OPERATION_NOT_SUPPORTED', 'Data channels are not supported');
    }
    optionalString(params, 'certificateKeyType', 16);
    optionalString(params, 'qosDscp', 32);
    super(host, WEBRTC_ENDPOINT_TYPE, pipeline.childId('WebRtcEndpoint'), ownerSession, pipeline);
    this.define('processOffer', (p) => this.#sdp.processOffer(p));
    this.define('generateOffer', (p) => this.#sdp.generateOffer(p));
    this.define('processAnswer', (p) => this.#sdp.processAnswer(p));
    this.define('getLocalSessionDescriptor', () => this.#sdp.localSdp);
    this.define('getRemoteSessionDescriptor', () => this.#sdp.remoteSdp);
    this.define('gatherCandidates', () => this.#gatherCandidates());
    this.define('addIceCandidate', (p) => this.#addIceCandidate(p));
    this.define('getStunServerAddress', () => this.#stunAddress);
    this.define('setStunServerAddress', (p) => {
      this.#stunAddress = requireString(p, 'stunServerAddress', 255);
    });
    this.define('getStunServerPort', () => this.#stunPort);
    this.define('setStunServerPort', (p) => {
      this.#stunPort = requireInt(p, 'stunServerPort', 1, 65_535);
    });
    // The password is never sent back: answers may travel through the tunnel to the hub.
    this.define('getTurnUrl', () => this.#turnUrl.replace(/:[^@]*@/, ':[redacted]@'));
    this.define('setTurnUrl', (p) => {
      const turnUrl = requireString(p, 'turnUrl', 1024);
      this.#turn = turnUrl === '' ? undefined : parseTurnUrl(turnUrl);
      this.#turnUrl = turnUrl;
    });
    this.define('getConnectionState', () => this.#connectionState);
    this.define('getMediaState', () => this.#mediaState);
    this.defineIntProperties([...SDP_BANDWIDTH_PROPERTIES, 'mtu'], 0, 10_000_000);
    this.refuse(['requestKeyframe'], 'viewers start from the cached GOP of the source');
    this.refuse(['createDataChannel', 'closeDataChannel'], 'data channels are not supported');
  }

  /** Whether a peer (and so a DTLS/ICE transport) exists for this endpoint. */
  get hasPeer(): boolean {
    return this.#peer !== undefined;
  }

  protected override mediaSink(): ((au: AccessUnit) => void) | undefined {
    const peer = this.#sdp.negotiated ? this.#peer : undefined;
    return peer ? (au) => peer.feed(au) : undefined;
  }

  protected override audioSink(): AudioSinkLike | undefined {
    const peer = this.#sdp.negotiated ? this.#peer : undefined;
    const accept = peer?.audioCodecs ?? [];
    if (!peer?.feedAudio || accept.length === 0) return undefined;
    return { sink: (frame) => peer.feedAudio!(frame), accept };
  }

  // The camera's stream ended: a keyframe request in the outage must not replay the old stream's GOP.
  protected override onSourceEnded(): void {
    this.#peer?.dropCache?.();
  }

  #iceServers(): IceServer[] {
    const servers = [...this.host.iceServers];
    if (this.#stunAddress) servers.push({ urls: `stun:${this.#stunAddress}:${this.#stunPort}` });
    if (this.#turn) servers.push(this.#turn);
    return servers;
  }

  #ensurePeer(): WebRtcPeerLike {
    if (this.#peer) return this.#peer;
    const media = this.host.media;
    if (!media) throw new KurentoRpcError('NOT_IMPLEMENTED', 'The media plane is not available in this engine build');
    const peer = media.createPeer({
      iceServers: this.#iceServers(),
      additionalHostAddresses: [...this.host.additionalHostAddresses],
      logger: this.host.logger.child('peer'),
    });
    this.#peer = peer;
    this.#on(peer, 'iceCandidate', (c: PeerIceCandidate) =>
      // IceCandidateFound carries a kurento.IceCandidate complex type (elements.kmd.json).
      this.raise('IceCandidateFound', {
        candidate: {
          __module__: 'kurento',
          __type__: 'IceCandidate',
          candidate: c.candidate,
          sdpMid: c.sdpMid,
          sdpMLineIndex: c.sdpMLineIndex,
        },
      }),
    );
    this.#on(peer, 'iceGatheringDone', () => this.raise('IceGatheringDone'));
    this.#on(peer, 'iceComponentState', (s: { streamId: number; componentId: number; state: string }) =>
      this.raise('IceComponentStateChanged', { streamId: s.streamId, componentId: s.componentId, state: s.state }),
    );
    this.#on(peer, 'connectionState', (s: ConnState) => this.#connectionChanged(s));
    this.#on(peer, 'mediaFlowOut', (s: 'FLOWING' | 'NOT_FLOWING') => this.setFlowOut(s));
    this.#on(peer, 'voice', (v: { payload: Buffer; timestamp: number }) => this.#talk?.push(v.payload, v.timestamp));
    return peer;
  }

  #on(peer: WebRtcPeerLike, event: string, fn: Listener): void {
    peer.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #connectionChanged(s: ConnState): void {
    if (s !== this.#connectionState) {
      const oldState = this.#connectionState;
      this.#connectionState = s;
      this.raise('ConnectionStateChanged', { oldState, newState: s });
    }
    // The engine has no RTCP-level notion of media state; it follows the transport.
    if (s !== this.#mediaState) {
      const oldState = this.#mediaState;
      this.#mediaState = s;
      this.raise('MediaStateChanged', { oldState, newState: s });
    }
  }

  async #negotiatedNow(peer: WebRtcPeerLike): Promise<void> {
    const early = this.#earlyCandidates;
    this.#earlyCandidates = [];
    for (const c of early) {
      await sdpOperation('ICE_ADD_CANDIDATE_ERROR', 'adding candidate', () => peer.addIceCandidate(c));
    }
    this.refreshSources();
  }

  async #gatherCandidates(): Promise<void> {
    const peer = this.#ensurePeer();
    await sdpOperation('ICE_GATHER_CANDIDATES_ERROR', 'gathering candidates', () => peer.gatherCandidates());
  }

  async #addIceCandidate(p: Params): Promise<void> {
    const raw = p.candidate;
    if (!isPlainObject(raw))
      throw new KurentoRpcError('MARSHALL_ERROR', "'candidate' parameter should be an IceCandidate");
    const c = {
      candidate: requireString(raw, 'candidate', 2048),
      sdpMid: optionalString(raw, 'sdpMid', 64),
      sdpMLineIndex: optionalInt(raw, 'sdpMLineIndex', 0, 255),
    };
    if (!this.#sdp.negotiated || !this.#peer) {
      // Browsers trickle candidates as soon as they have them, often before the answer.
      if (this.#earlyCandidates.length >= MAX_EARLY_CANDIDATES) {
        throw new KurentoRpcError('ICE_ADD_CANDIDATE_ERROR', `At most ${MAX_EARLY_CANDIDATES} candidates before SDP`);
      }
      this.#earlyCandidates.push(c);
      return;
    }
    const peer = this.#peer;
    await sdpOperation('ICE_ADD_CANDIDATE_ERROR', 'adding candidate', () => peer.addIceCandidate(c));
  }

  // A connect into a player with mediaType AUDIO makes this endpoint a talker (the policy allows it only with
  // the hub's talk grant, docs/kurento-policy.md "Talking back"); a disconnect ends the talk.
  protected override onSinksChanged(): void {
    const player = this.sinksWith('AUDIO').find((s) => 'talkSource' in s) as
      (MediaElement & { readonly talkSource: RtspSourceHandleLike | undefined }) | undefined;
    if (player && !this.#talk) {
      this.#talk = new WebRtcTalk({
        source: () => player.talkSource,
        talkerId: this.id,
        onRefused: (code, message) =>
          this.raise('Error', { description: `${code}: ${message}`, errorCode: 40001, type: code }),
        logger: this.host.logger.child('talk'),
      });
    } else if (!player && this.#talk) {
      this.#talk.close();
      this.#talk = undefined;
    }
  }

  protected override async onRelease(): Promise<void> {
    this.#talk?.close();
    this.#talk = undefined;
    await super.onRelease();
    const peer = this.#peer;
    this.#peer = undefined;
    if (!peer) return;
    for (const [event, fn] of this.#listeners) peer.off(event, fn);
    this.#listeners = [];
    await peer.close();
  }
}
