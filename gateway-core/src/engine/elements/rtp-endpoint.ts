import { KurentoRpcError } from '../errors.js';
import type {
  AccessUnit,
  AudioSinkLike,
  RtpSenderLike,
  RtpSenderLikeOptions,
  RtspSourceHandleLike,
} from '../media-plane.js';
import { isPlainObject, optionalBoolean, optionalString, requireInt, type Params } from '../params.js';
import { MediaElement } from './media-element.js';
import { TalkRelay } from './talk-relay.js';
import { SDP_BANDWIDTH_PROPERTIES, SdpNegotiation } from './sdp-endpoint.js';
import type { ObjectHost } from './media-object.js';
import type { MediaPipeline } from './media-pipeline.js';
import { RTP_ENDPOINT_TYPE } from './types.js';

/** SDES master key (16 bytes) + master salt (14 bytes) for the AES-128 suites (RFC 3711 §8.2, RFC 4568 §6.1). */
const KEY_AND_SALT_BYTES = 30;
/** Kurento's `CryptoSuite` enum (elements.kmd.json) and what the engine does with each. */
const SUPPORTED_SUITES = ['AES_128_CM_HMAC_SHA1_80', 'AES_128_CM_HMAC_SHA1_32'] as const;
const KNOWN_SUITES = [...SUPPORTED_SUITES, 'AES_256_CM_HMAC_SHA1_32', 'AES_256_CM_HMAC_SHA1_80'];

type ConnState = 'CONNECTED' | 'DISCONNECTED';
type Crypto = NonNullable<RtpSenderLikeOptions['crypto']>;

/**
 * Reads Kurento's `SDES` complex type: `crypto` (the suite) and the master
 * key+salt as `keyBase64`, or as `key` — a 30-character plain string as KMS
 * takes it, or its 40-character base64 form. Errors never echo the key.
 */
export function parseSdes(raw: unknown): Crypto | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isPlainObject(raw)) throw new KurentoRpcError('MARSHALL_ERROR', "'crypto' parameter should be an SDES");
  const suite = optionalString(raw, 'crypto', 32) ?? 'AES_128_CM_HMAC_SHA1_80'; // KMS's default suite
  if (!KNOWN_SUITES.includes(suite)) {
    throw new KurentoRpcError('MARSHALL_ERROR', `'crypto.crypto' must be one of ${KNOWN_SUITES.join(', ')}`);
  }
  if (!(SUPPORTED_SUITES as readonly string[]).includes(suite)) {
    throw new KurentoRpcError(
      'MEDIA_OBJECT_OPERATION_NOT_SUPPORTED',
      `The camgate engine implements ${SUPPORTED_SUITES.join(' and ')} only`,
    );
  }
  const b64 = optionalString(raw, 'keyBase64', 128);
  const plain = optionalString(raw, 'key', 128);
  let keyAndSalt: Buffer | undefined;
  if (b64 !== undefined) keyAndSalt = decodeBase64(b64);
  else if (plain !== undefined && plain.length === KEY_AND_SALT_BYTES && isLatin1(plain)) {
    keyAndSalt = Buffer.from(plain, 'latin1');
  } else if (plain !== undefined) keyAndSalt = decodeBase64(plain);
  if (!keyAndSalt || keyAndSalt.length !== KEY_AND_SALT_BYTES) {
    throw new KurentoRpcError(
      'MEDIA_OBJECT_ILLEGAL_PARAM_ERROR',
      `'crypto' needs a ${KEY_AND_SALT_BYTES}-byte master key+salt in 'keyBase64' (or 'key')`,
    );
  }
  return { suite: suite as Crypto['suite'], keyAndSalt };
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

function decodeBase64(s: string): Buffer | undefined {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(s) && s.length % 4 === 0 ? Buffer.from(s, 'base64') : undefined;
}

/**
 * Kurento's RtpEndpoint: plain RTP or SDES-SRTP (no ICE, no DTLS) to the
 * address and port the remote description names — what the Homebridge plugin
 * uses to stream a camera to an Apple device. The engine only sends; the
 * connected player's H.264 goes out unchanged (no transcoding, so a requested
 * resolution is not honoured). See media/rtp-sender.ts for the security note.
 *
 * Sound: when the remote takes the offered Opus section, the connected
 * player's camera sound goes out with the video (the media plane's shared
 * per-camera Opus path), and when the remote also sends (`sendrecv`, HomeKit
 * two-way audio), the endpoint was created with `talkBack: true` and the
 * camera has a back channel, its voice goes to the camera — one talker per
 * camera, as in the browser viewer.
 */
export class RtpEndpoint extends MediaElement {
  readonly #crypto: Crypto | undefined;
  readonly #ipv6: boolean;
  readonly #talkBack: boolean;
  #sender: RtpSenderLike | undefined;
  #onFlow: ((s: 'FLOWING' | 'NOT_FLOWING') => void) | undefined;
  readonly #sdp = new SdpNegotiation<RtpSenderLike>({
    side: () => this.#ensureSender(),
    existing: () => this.#sender,
    onNegotiated: () => this.#negotiatedNow(),
    refuseOfferAfterOwnOffer: true,
  });
  #mtu = 1200; // bytes, KMS's BaseRtpEndpoint default
  #state: ConnState = 'DISCONNECTED';

  constructor(host: ObjectHost, ownerSession: string, pipeline: MediaPipeline, params: Params) {
    const crypto = parseSdes(params.crypto);
    const ipv6 = optionalBoolean(params, 'useIpv6') ?? false;
    // camgate's own constructor parameter (KMS has none): talking to the camera is never implied by an SDP
    // the caller writes. The gateway's Kurento policy does not pass it, so a hub cannot turn it on.
    const talkBack = optionalBoolean(params, 'talkBack') ?? false;
    if (!host.media?.createRtpSender) {
      throw new KurentoRpcError('NOT_IMPLEMENTED', 'RtpEndpoint media is not available in this engine build');
    }
    super(host, RTP_ENDPOINT_TYPE, pipeline.childId('RtpEndpoint'), ownerSession, pipeline);
    this.#crypto = crypto;
    this.#ipv6 = ipv6;
    this.#talkBack = talkBack;
    this.define('generateOffer', (p) => this.#sdp.generateOffer(p));
    this.define('processOffer', (p) => this.#sdp.processOffer(p));
    this.define('processAnswer', (p) => this.#sdp.processAnswer(p));
    this.define('getLocalSessionDescriptor', () => this.#sdp.localSdp);
    this.define('getRemoteSessionDescriptor', () => this.#sdp.remoteSdp);
    this.define('getConnectionState', () => this.#state);
    this.define('getMediaState', () => this.#state);
    this.define('getMtu', () => this.#mtu);
    this.define('setMtu', (p) => {
      const mtu = requireInt(p, 'mtu', 128, 65_507);
      this.#mtu = mtu;
      this.#sender?.setMtu(mtu);
    });
    this.defineIntProperties(SDP_BANDWIDTH_PROPERTIES, 0, 10_000_000);
    this.refuse(['requestKeyframe'], 'receivers start from the cached GOP of the source');
  }

  protected override mediaSink(): ((au: AccessUnit) => void) | undefined {
    const sender = this.#sdp.negotiated ? this.#sender : undefined;
    return sender ? (au) => sender.feed(au) : undefined;
  }

  #ensureSender(): RtpSenderLike {
    if (this.#sender) return this.#sender;
    const sender = this.host.media!.createRtpSender!({
      ...(this.#crypto ? { crypto: this.#crypto } : {}),
      ipv6: this.#ipv6,
      logger: this.host.logger.child('rtp'),
    });
    sender.setMtu(this.#mtu);
    this.#onFlow = (s) => this.setFlowOut(s);
    sender.on('mediaFlowOut', this.#onFlow);
    this.#sender = sender;
    return sender;
  }

  #negotiatedNow(): void {
    // No handshake on plain RTP/SDES: the "connection" exists once both descriptions are known.
    this.#state = 'CONNECTED';
    this.raise('ConnectionStateChanged', { oldState: 'DISCONNECTED', newState: 'CONNECTED' });
    this.raise('MediaStateChanged', { oldState: 'DISCONNECTED', newState: 'CONNECTED' });
    this.raise('MediaSessionStarted');
    this.refreshSources();
  }

  /** Opus only (HomeKit's codec here): the source transcodes the camera's sound once, shared with browsers. */
  protected override audioSink(): AudioSinkLike | undefined {
    const sender = this.#sdp.negotiated ? this.#sender : undefined;
    if (!sender?.audio || !sender.feedOpus) return undefined;
    return {
      sink: (frame) => {
        const f = frame as { codec: string; payload: Buffer; timestamp: number; clockRate: number };
        if (f.codec === 'OPUS' && f.clockRate === 48_000) sender.feedOpus!(f.payload, f.timestamp);
      },
      accept: ['OPUS'],
    };
  }

  protected override onSourceLinked(source: RtspSourceHandleLike): (() => void) | undefined {
    const sender = this.#sender;
    const direction = sender?.audio?.direction;
    if (
      !this.#talkBack ||
      !sender?.setTalk ||
      !source.openTalk ||
      (direction !== 'sendrecv' && direction !== 'sendonly')
    ) {
      return undefined;
    }
    const relay = new TalkRelay(source, this.id, this.host.logger.child('talk'));
    const onVoice = (v: { payload: Buffer; timestamp48k: number }): void => relay.push(v.payload, v.timestamp48k);
    sender.on('voice', onVoice);
    sender.setTalk(true);
    return () => {
      sender.off('voice', onVoice);
      sender.setTalk!(false);
      relay.close();
    };
  }

  protected override async onRelease(): Promise<void> {
    await super.onRelease();
    const sender = this.#sender;
    this.#sender = undefined;
    if (!sender) return;
    if (this.#onFlow) sender.off('mediaFlowOut', this.#onFlow);
    await sender.close();
  }
}
