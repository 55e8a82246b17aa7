import type { RTCPeerConnectionConfig, RTCRtpCodecParameters } from 'werift';
import { weriftAudioCodecs } from './audio-codecs.js';
import type { H264Payload } from './h264-sdp.js';
import type { ResolvedWebRtcPeerOptions } from './webrtc-peer-options.js';
import type { WeriftModule } from './werift-lazy.js';

/**
 * RTCP feedback we answer (RFC 4585 §4.2, RFC 5104 §7.1): NACK is served by
 * VideoWriter's history of sent packets, PLI and FIR by replaying the GOP cache. No
 * transport-cc or REMB: we cannot change the camera's bitrate anyway.
 */
const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

/** The H.264 codec we offer when the engine makes the offer (generateOffer): Constrained Baseline 3.1, mode 1. */
export const OFFER_H264: H264Payload = {
  payloadType: 96,
  fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  profileLevelId: '42e01f',
  packetizationMode: 1,
  rtcpFeedback: ['nack', 'nack pli', 'ccm fir'],
};

/** The werift codec for a chosen payload: same payload type and fmtp as offered, so the answer matches exactly. */
export function h264Codec(w: WeriftModule, p: H264Payload): RTCRtpCodecParameters {
  return new w.RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90_000,
    payloadType: p.payloadType,
    parameters: p.fmtp,
    rtcpFeedback: FEEDBACK.map((f) => ({ ...f })),
  });
}

/**
 * The complete werift configuration. Every field that could make werift talk
 * to the network on its own is set here explicitly: `iceServers` is always
 * ours (werift's default is stun.l.google.com), no TCP candidates, and when
 * `interfaceAddress` is given only that address is bound.
 */
export function buildPeerConfig(
  w: WeriftModule,
  o: ResolvedWebRtcPeerOptions,
  codec: H264Payload,
): RTCPeerConnectionConfig {
  const config: RTCPeerConnectionConfig = {
    iceServers: o.iceServers.map((s) => ({ ...s })),
    iceAdditionalHostAddresses: [...o.additionalHostAddresses],
    iceUseTcp: false,
    iceTransportPolicy: 'all',
    bundlePolicy: 'max-bundle',
    codecs: { video: [h264Codec(w, codec)], audio: weriftAudioCodecs(w) }, // audio: audio-codecs.ts
  };
  if (o.interfaceAddress) {
    config.iceInterfaceAddresses = { udp4: o.interfaceAddress };
    config.iceUseIpv6 = false;
    if (!config.iceAdditionalHostAddresses!.includes(o.interfaceAddress)) {
      // werift filters the host list to interfaceAddresses, and loopback is only
      // in that list when added explicitly.
      config.iceAdditionalHostAddresses!.push(o.interfaceAddress);
    }
  }
  return config;
}
