/**
 * A loopback UDP receiver of an SRTP (or plain RTP) H.264 stream, playing the
 * Apple device / remote side of an RtpEndpoint. Packets are authenticated and
 * decrypted with werift's SrtpSession — an implementation independent of the
 * engine's — then reassembled with the engine's own depacketizer.
 */
import dgram from 'node:dgram';
import type { TestContext } from 'node:test';
import { SrtpSession } from 'werift';
import { H264Depacketizer, parseRtpHeader, type H264AccessUnit, type RtpHeader } from '@camgate/core/rtsp-wire';

const PROFILE_AES128_CM_SHA1_80 = 1; // werift's ProtectionProfileAes128CmHmacSha1_80 (RFC 5764 §4.1.2 id)

export interface ReceivedPacket {
  /** Size on the wire (SRTP, with its tag). */
  wireBytes: number;
  header: RtpHeader;
}

export interface SrtpReceiver {
  readonly port: number;
  readonly address: string;
  /** Packets that authenticated and decrypted. */
  readonly packets: ReceivedPacket[];
  /** Packets that failed authentication or were not RTP. */
  readonly rejected: number;
  readonly accessUnits: H264AccessUnit[];
  /** Resolves once `n` access units were reassembled. */
  waitForAccessUnits(n: number): Promise<H264AccessUnit[]>;
  /** Resolves once the receiver saw no packet for the given number of consecutive ~`quietMs` windows. */
  waitForSilence(quietMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (port 0); `keyAndSalt` undefined means plain RTP. Closed after the test. */
export async function startSrtpReceiver(t: TestContext, keyAndSalt: Buffer | undefined): Promise<SrtpReceiver> {
  // A keyframe leaves the engine as one burst of datagrams; a roomy buffer keeps loopback from dropping any.
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const session = keyAndSalt
    ? new SrtpSession({
        profile: PROFILE_AES128_CM_SHA1_80,
        keys: {
          localMasterKey: keyAndSalt.subarray(0, 16),
          localMasterSalt: keyAndSalt.subarray(16, 30),
          remoteMasterKey: keyAndSalt.subarray(0, 16),
          remoteMasterSalt: keyAndSalt.subarray(16, 30),
        },
      })
    : undefined;
  const depack = new H264Depacketizer();
  const packets: ReceivedPacket[] = [];
  const accessUnits: H264AccessUnit[] = [];
  let rejected = 0;
  let lastPacketAt = 0;
  let waiters: { n: number; resolve: (a: H264AccessUnit[]) => void }[] = [];
  socket.on('message', (msg) => {
    lastPacketAt = Date.now();
    let rtp: Buffer;
    try {
      rtp = session ? session.decrypt(msg) : msg;
    } catch {
      rejected++;
      return;
    }
    const header = parseRtpHeader(rtp);
    if (!header) {
      rejected++;
      return;
    }
    packets.push({ wireBytes: msg.length, header });
    accessUnits.push(...depack.pushAll(rtp));
    waiters = waiters.filter((w) => {
      if (accessUnits.length < w.n) return true;
      w.resolve(accessUnits.slice(0, w.n));
      return false;
    });
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  };
  t.after(close);
  return {
    port: socket.address().port,
    address: '127.0.0.1',
    packets,
    get rejected() {
      return rejected;
    },
    accessUnits,
    waitForAccessUnits: (n) =>
      accessUnits.length >= n
        ? Promise.resolve(accessUnits.slice(0, n))
        : new Promise((resolve) => waiters.push({ n, resolve })),
    waitForSilence: async (quietMs) => {
      // Polls: resolves once a full window passed with no packet (the sender at 25 fps sends every 40 ms).
      for (;;) {
        const before = packets.length;
        await new Promise((r) => setTimeout(r, quietMs));
        if (packets.length === before && Date.now() - lastPacketAt >= quietMs) return;
      }
    },
    close,
  };
}

/** An SDP describing a receiver of H.264 at `port` on 127.0.0.1, as a HomeKit controller would offer it. */
export function receiverSdp(port: number, opts: { payloadType?: number; secure?: boolean; key?: Buffer } = {}): string {
  const pt = opts.payloadType ?? 99;
  const secure = opts.secure ?? true;
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=test receiver',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${port} ${secure ? 'RTP/SAVP' : 'RTP/AVP'} ${pt}`,
    `a=rtpmap:${pt} H264/90000`,
    `a=fmtp:${pt} packetization-mode=1;profile-level-id=42e01f`,
    'a=recvonly',
    ...(secure && opts.key ? [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${opts.key.toString('base64')}`] : []),
    '',
  ].join('\r\n');
}
