/**
 * The DTLS-SRTP profile of the bench's werift receivers. werift has no option
 * for it; these reach into its transports (werift 0.25 internals).
 *
 * The receivers offer only AES_CM_128_HMAC_SHA1_80, the profile Chromium
 * picks when it offers (as the hub's viewer page does), so every server sends
 * what it sends to such a browser. werift's own preference, AEAD_AES_128_GCM,
 * costs the engine about twice as much per packet (a GCM cipher per packet,
 * engine/media/README.md "SRTP"); `bench:engine-load --viewer-srtp gcm`
 * measures it.
 */
import { ProtectionProfileAes128CmHmacSha1_80, type RTCPeerConnection } from 'werift';

type Transport = { srtpProfiles: number[]; srtp?: { config: { profile: number } } };

const transportsOf = (pc: RTCPeerConnection): Transport[] =>
  pc.getTransceivers().map((t) => t.sender.transport as unknown as Transport);

/** Before the DTLS handshake: offer Chromium's profile only. */
export function chromiumSrtpProfiles(pc: RTCPeerConnection): void {
  for (const t of transportsOf(pc)) t.srtpProfiles = [ProtectionProfileAes128CmHmacSha1_80];
}

const PROFILE_NAMES: Record<number, string> = { 1: 'AES_CM_128_HMAC_SHA1_80', 7: 'AEAD_AES_128_GCM' };

/** The profile the handshake chose ('' before it is done). */
export function srtpProfileOf(pc: RTCPeerConnection): string {
  const p = transportsOf(pc)[0]?.srtp?.config.profile;
  return p === undefined ? '' : (PROFILE_NAMES[p] ?? `profile ${p}`);
}
