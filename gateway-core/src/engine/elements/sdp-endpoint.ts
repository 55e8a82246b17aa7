import { redactString } from '../../util/index.js';
import { KurentoRpcError, type KurentoErrorName } from '../errors.js';
import { isPlainObject, requireString, type Params } from '../params.js';

/**
 * What Kurento's SdpEndpoint subclasses (WebRtcEndpoint, RtpEndpoint) share in
 * the engine: the SDP size bound, the OfferOptions check, how a media-plane
 * failure becomes a Kurento error, and the offer/answer state (SdpNegotiation).
 */

/** The bandwidth bounds every SdpEndpoint takes (elements.kmd.json); the engine stores them, it never transcodes. */
export const SDP_BANDWIDTH_PROPERTIES = [
  'minVideoRecvBandwidth',
  'minVideoSendBandwidth',
  'maxVideoSendBandwidth',
  'maxVideoRecvBandwidth',
  'maxAudioRecvBandwidth',
] as const;

/** SDP blobs are a few kB; 64 kB leaves room for many candidates and codecs. */
export const MAX_SDP_CHARS = 65_536;

/** `generateOffer`'s optional `options` must be an OfferOptions object (elements.kmd.json). */
export function checkOfferOptions(p: Params): void {
  if (p.options !== undefined && p.options !== null && !isPlainObject(p.options)) {
    throw new KurentoRpcError('MARSHALL_ERROR', "'options' parameter should be an OfferOptions");
  }
}

/**
 * Runs a media-plane operation and answers its failure with the Kurento error
 * `errorType` ("Error generating offer: …", as KMS words it). The message goes
 * to the client, so it is redacted and bounded to 512 characters; a
 * KurentoRpcError thrown by `op` passes through unchanged.
 */
export async function sdpOperation<T>(errorType: KurentoErrorName, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof KurentoRpcError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new KurentoRpcError(errorType, redactString(`Error ${what}: ${msg}`).slice(0, 512));
  }
}

/** The media-plane side an SdpEndpoint negotiates for: a WebRTC peer, an RTP sender. */
export interface SdpSide {
  generateOffer(): Promise<string>;
  processOffer(offer: string): Promise<string>;
  processAnswer(answer: string): Promise<void>;
}

export interface SdpNegotiationOptions<S extends SdpSide> {
  /** The side, created on the first SDP operation. */
  side(): S;
  /** The side if it exists: an answer is for the side that made the offer. */
  existing(): S | undefined;
  /** Both descriptions are known (`negotiated` is already true). */
  onNegotiated(side: S): void | Promise<void>;
  /** Refuse processOffer once this endpoint made an offer, not only once negotiated (KMS's RtpEndpoint). */
  refuseOfferAfterOwnOffer: boolean;
}

/**
 * SdpEndpoint's offer/answer state (elements.kmd.json): `generateOffer`,
 * `processOffer`, `processAnswer` and the session descriptors, with KMS's
 * error types for operations out of order.
 */
export class SdpNegotiation<S extends SdpSide> {
  readonly #o: SdpNegotiationOptions<S>;
  negotiated = false;
  localSdp: string | null = null;
  remoteSdp: string | null = null;

  constructor(opts: SdpNegotiationOptions<S>) {
    this.#o = opts;
  }

  async generateOffer(p: Params): Promise<string> {
    checkOfferOptions(p);
    if (this.localSdp !== null) throw new KurentoRpcError('SDP_END_POINT_GENERATE_OFFER_ERROR', 'Offer already made');
    const side = this.#o.side();
    const offer = await sdpOperation('SDP_END_POINT_GENERATE_OFFER_ERROR', 'generating offer', () =>
      side.generateOffer(),
    );
    this.localSdp = offer;
    return offer;
  }

  async processOffer(p: Params): Promise<string> {
    const offer = requireString(p, 'offer', MAX_SDP_CHARS);
    if (this.negotiated || (this.#o.refuseOfferAfterOwnOffer && this.localSdp !== null)) {
      throw new KurentoRpcError('SDP_END_POINT_PROCESS_OFFER_ERROR', 'Endpoint already negotiated');
    }
    const side = this.#o.side();
    const answer = await sdpOperation('SDP_END_POINT_PROCESS_OFFER_ERROR', 'processing offer', () =>
      side.processOffer(offer),
    );
    this.remoteSdp = offer;
    this.localSdp = answer;
    await this.#negotiatedNow(side);
    return answer;
  }

  async processAnswer(p: Params): Promise<string> {
    const answer = requireString(p, 'answer', MAX_SDP_CHARS);
    const side = this.#o.existing();
    const offer = this.localSdp;
    if (!side || offer === null || this.remoteSdp !== null) {
      throw new KurentoRpcError('SDP_END_POINT_NOT_OFFER_GENERATED', 'No offer waiting for an answer');
    }
    await sdpOperation('SDP_END_POINT_PROCESS_ANSWER_ERROR', 'processing answer', () => side.processAnswer(answer));
    this.remoteSdp = answer;
    await this.#negotiatedNow(side);
    return offer;
  }

  async #negotiatedNow(side: S): Promise<void> {
    this.negotiated = true;
    await this.#o.onNegotiated(side);
  }
}
