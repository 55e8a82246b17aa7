import { redactString } from '../../util/index.js';
import { KurentoRpcError, type KurentoErrorName } from '../errors.js';
import { isPlainObject, type Params } from '../params.js';

/**
 * What Kurento's SdpEndpoint subclasses (WebRtcEndpoint, RtpEndpoint) share in
 * the engine: the SDP size bound, the OfferOptions check and how a media-plane
 * failure becomes a Kurento error.
 */

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
