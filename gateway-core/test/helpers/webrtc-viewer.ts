/**
 * Test helpers for the engine's media plane: a werift viewer that negotiates
 * with a WebRtcPeer over loopback only, and a synthetic H.264 stream.
 * (Reusable by the engine and end-to-end tests.)
 */
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { H264Depacketizer, nalType, type H264AccessUnit } from '../../src/rtsp/index.js';
import type { WebRtcPeer } from '../../src/engine/media/index.js';

export interface TestViewer {
  pc: RTCPeerConnection;
  /** Access units reassembled from received RTP, in arrival order. */
  aus: H264AccessUnit[];
  /** SSRCs and RTP timestamps seen. */
  ssrcs: Set<number>;
  timestamps: number[];
  packets: number;
  /** Local candidates the viewer sent to the peer, and candidates it received. */
  sentCandidates: string[];
  receivedCandidates: string[];
  /** Resolves when `pred` holds (checked after every access unit). */
  waitFor(pred: (v: TestViewer) => boolean): Promise<void>;
  close(): Promise<void>;
}

/** werift configured to stay on 127.0.0.1 (no STUN, no other interface). */
export function loopbackViewerConfig(): ConstructorParameters<typeof RTCPeerConnection>[0] {
  return {
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceUseIpv6: false,
    iceUseTcp: false,
    // Only ever check pairs towards loopback, whatever a candidate claims.
    iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === '127.0.0.1',
    codecs: {
      audio: [],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90000,
          payloadType: 102,
          parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
    },
  };
}

/** A viewer offering recvonly H.264; candidates trickle both ways. */
export async function connectViewer(peer: WebRtcPeer): Promise<TestViewer> {
  const pc = new RTCPeerConnection(loopbackViewerConfig());
  const depack = new H264Depacketizer();
  const waiters: { pred: (v: TestViewer) => boolean; resolve: () => void }[] = [];
  const v: TestViewer = {
    pc,
    aus: [],
    ssrcs: new Set(),
    timestamps: [],
    packets: 0,
    sentCandidates: [],
    receivedCandidates: [],
    waitFor(pred) {
      if (pred(v)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    async close() {
      await pc.close();
    },
  };
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(v)) waiters.splice(i, 1)[0]!.resolve();
    }
  };
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      v.packets++;
      v.ssrcs.add(rtp.header.ssrc);
      for (const au of depack.pushAll(rtp.serialize())) {
        v.aus.push(au);
        v.timestamps.push(au.timestamp);
      }
      check();
    });
  });
  pc.onIceCandidate.subscribe((c) => {
    if (!c?.candidate) return;
    if (c.candidate.split(' ')[4] !== '127.0.0.1') return; // loopback only (see loopbackViewerConfig)
    v.sentCandidates.push(c.candidate);
    void peer.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
  });
  peer.on('iceCandidate', (c) => {
    v.receivedCandidates.push(c.candidate);
    void pc.addIceCandidate(c);
  });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const offer = await pc.createOffer();
  const sld = pc.setLocalDescription(offer);
  const answer = await peer.processOffer(offer.sdp);
  await sld;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await peer.gatherCandidates();
  return v;
}

/** NAL unit types of an access unit. */
export function nalTypes(au: H264AccessUnit): number[] {
  return au.nalus.map(nalType);
}

/**
 * A synthetic H.264 stream (structurally valid NAL headers, not decodable
 * pictures): SPS, PPS and an IDR every `gop` frames, P slices otherwise. Each
 * slice carries its frame number in bytes 1..4 so order can be checked.
 */
export class SyntheticH264 {
  frame = 0;
  timestamp: number;
  constructor(
    readonly gop = 10,
    readonly sliceBytes = 3000,
    readonly ticksPerFrame = 3600, // 25 fps at 90 kHz
    start = 123_456,
  ) {
    this.timestamp = start;
  }

  next(opts: { withParameterSets?: boolean } = {}): H264AccessUnit {
    const n = this.frame++;
    const key = n % this.gop === 0;
    const slice = Buffer.alloc(this.sliceBytes, n & 0xff);
    slice[0] = key ? 0x65 : 0x41; // nal_ref_idc 3/2, type 5 (IDR) / 1 (non-IDR)
    slice.writeUInt32BE(n, 1);
    const nalus = key && opts.withParameterSets !== false ? [SPS, PPS, slice] : [slice];
    const au = { nalus, timestamp: this.timestamp >>> 0, keyframe: key };
    this.timestamp += this.ticksPerFrame;
    return au;
  }
}

/** Frame number carried by a synthetic slice. */
export function frameNumber(au: H264AccessUnit): number {
  const slice = au.nalus.find((n) => [1, 5].includes(nalType(n)));
  return slice ? slice.readUInt32BE(1) : -1;
}

// Baseline 3.1 SPS/PPS (H.264 §7.3.2.1): headers only matter to the plane here.
export const SPS = Buffer.from('6742c01fda0140169b0110000003001000000303c0f1832a', 'hex');
export const PPS = Buffer.from('68ce3c80', 'hex');
