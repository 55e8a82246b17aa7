/**
 * A child process of `bench:media` holding WebRTC receivers that do not
 * decode (see werift-receivers.ts for why). Each receiver is a werift
 * RTCPeerConnection with one recvonly H.264 transceiver, ICE on 127.0.0.1
 * only: DTLS-SRTP, SRTP decryption, and RTCP receiver reports run as in any
 * WebRTC peer; RTP packets are counted, and a frame is counted when its
 * last packet (RTP marker bit, RFC 6184 §5.1) arrives. No PLI is ever sent: a
 * receiver that asks for keyframes would make the engine replay its GOP cache
 * and measure something else.
 *
 * Candidates other than 127.0.0.1 ones, the server's and the receiver's own, are dropped.
 * SRTP: the profile Chromium negotiates (werift-srtp.ts).
 *
 * Protocol: one JSON object per line on stdin (`{ id, op, ... }`), one answer
 * per line on stdout (`{ id, ok, ... }` or `{ id, error }`). Exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { RTCPeerConnection, RTCRtpCodecParameters, type RTCIceCandidate } from 'werift';
import { chromiumSrtpProfiles, srtpProfileOf } from './werift-srtp.js';

type Req = {
  id: number;
  op: string;
  rx: number;
  sdp?: string;
  candidate?: RTCIceCandidateLike;
};
type RTCIceCandidateLike = { candidate: string; sdpMid?: string; sdpMLineIndex?: number };

const H264 = new RTCRtpCodecParameters({
  mimeType: 'video/H264',
  clockRate: 90_000,
  payloadType: 96,
  parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  // No feedback at all: no 'nack pli' / 'ccm fir' (see above), and no 'nack' either, so that a receiver
  // the loaded host starves does not turn into retransmission work for the server under test; what did not
  // arrive is reported as lost instead.
  rtcpFeedback: [],
});

interface Rx {
  pc: RTCPeerConnection;
  startedAt: number;
  firstFrameAt: number;
  frames: number;
  packets: number;
  bytes: number;
  baseSeq: number;
  highSeq: number;
  /** Packets not newer than the highest seen: retransmissions, duplicates, reordered. */
  late: number;
  closed: boolean;
  errors: string[];
}
const rxs = new Map<number, Rx>();

function make(rxId: number): Rx {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseTcp: false,
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    bundlePolicy: 'max-bundle',
    codecs: { video: [H264], audio: [] },
  });
  const r: Rx = {
    pc,
    startedAt: Date.now(),
    firstFrameAt: 0,
    frames: 0,
    packets: 0,
    bytes: 0,
    baseSeq: -1,
    highSeq: -1,
    late: 0,
    closed: false,
    errors: [],
  };
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      r.packets++;
      r.bytes += rtp.payload.length;
      // Lost = expected - received, expected from the highest extended sequence number (RFC 3550 §A.3):
      // a retransmission or a reordered packet is older than the highest and only counts as received.
      const seq = rtp.header.sequenceNumber;
      if (r.baseSeq < 0) {
        r.baseSeq = seq;
        r.highSeq = seq;
      } else {
        const delta = (seq - (r.highSeq & 0xffff) + 0x10000) & 0xffff;
        if (delta > 0 && delta < 0x8000) r.highSeq += delta;
        else r.late++;
      }
      if (rtp.header.marker) {
        r.frames++;
        if (!r.firstFrameAt) r.firstFrameAt = Date.now();
      }
    });
  });
  rxs.set(rxId, r);
  return r;
}

/** What a receive buffer may hold: a 720p keyframe of the camera simulator is 1.4 MB, paced at 100 Mbit/s. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024; // Linux caps it at net.core.rmem_max (4 MiB here)

type SocketHolder = { connection?: { protocols?: { transport?: { socket?: import('node:dgram').Socket } }[] } };

/**
 * Waits for ICE gathering, then enlarges the receive buffer of werift's UDP
 * sockets (werift leaves the 208 KB default): a receiver process the loaded
 * host leaves unscheduled for 20 ms would otherwise overflow during a
 * keyframe, and the loss would be the receivers', not the server's.
 */
async function gathered(pc: RTCPeerConnection): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (pc.iceGatheringState !== 'complete') {
    if (Date.now() > deadline) throw new Error('ICE gathering did not complete within 10 s');
    await sleep(10);
  }
  // werift has no option for it: its sockets sit in each ICE transport's connection (werift 0.25 internals).
  for (const t of pc.iceTransports as unknown as SocketHolder[]) {
    for (const p of t.connection?.protocols ?? []) {
      try {
        p.transport?.socket?.setRecvBufferSize(RECV_BUFFER_BYTES);
      } catch {
        // a socket that is not bound yet keeps its default; the loss figure will show it
      }
    }
  }
}

/**
 * An SDP without candidates other than 127.0.0.1 ones: the server's, and also werift's own (werift finds no
 * non-loopback address matching iceInterfaceAddresses, so it also advertises this host's eth0 address, on a
 * socket bound to 127.0.0.1; a full-ICE server would send checks there).
 */
const loopbackOnly = (sdp: string): string =>
  sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === '127.0.0.1')
    .join('\r\n');

async function handle(q: Req): Promise<Record<string, unknown>> {
  switch (q.op) {
    case 'offer': {
      const r = make(q.rx);
      r.pc.addTransceiver('video', { direction: 'recvonly' });
      await r.pc.setLocalDescription(await r.pc.createOffer());
      chromiumSrtpProfiles(r.pc);
      await gathered(r.pc);
      return { sdp: loopbackOnly(r.pc.localDescription!.sdp) };
    }
    case 'answer-offer': {
      // The server offers (Janus): answer it, candidates gathered into the answer.
      const r = make(q.rx);
      await r.pc.setRemoteDescription({ type: 'offer', sdp: loopbackOnly(q.sdp!) });
      chromiumSrtpProfiles(r.pc);
      await r.pc.setLocalDescription(await r.pc.createAnswer());
      await gathered(r.pc);
      return { sdp: loopbackOnly(r.pc.localDescription!.sdp) };
    }
    case 'answer':
      await rxs.get(q.rx)!.pc.setRemoteDescription({ type: 'answer', sdp: loopbackOnly(q.sdp!) });
      return {};
    case 'candidate': {
      // Loopback only: anything else from the server is ignored.
      if (q.candidate!.candidate.split(' ')[4] !== '127.0.0.1') return {};
      await rxs.get(q.rx)!.pc.addIceCandidate(q.candidate as RTCIceCandidate);
      return {};
    }
    case 'stats': {
      const r = rxs.get(q.rx)!;
      return {
        frames: r.frames,
        packets: r.packets,
        bytes: r.bytes,
        lost: r.baseSeq < 0 ? 0 : Math.max(0, r.highSeq - r.baseSeq + 1 - (r.packets - r.late)),
        late: r.late,
        startedAt: r.startedAt,
        firstFrameAt: r.firstFrameAt,
        connectionState: r.pc.connectionState,
        srtpProfile: srtpProfileOf(r.pc),
        errors: r.errors.slice(-3),
      };
    }
    case 'close': {
      const r = rxs.get(q.rx);
      if (!r) return {};
      r.closed = true;
      rxs.delete(q.rx);
      await r.pc.close().catch(() => undefined);
      return {};
    }
    default:
      throw new Error(`unknown op ${q.op}`);
  }
}

const send = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const q = JSON.parse(line) as Req;
  handle(q).then(
    (res) => send({ id: q.id, ok: true, ...res }),
    (err: unknown) => send({ id: q.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.stdin.on('close', () => {
  for (const r of rxs.values()) void r.pc.close().catch(() => undefined);
  setTimeout(() => process.exit(0), 500).unref();
});
