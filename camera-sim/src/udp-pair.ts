/**
 * The camera's RTP/RTCP UDP sockets for `RTP/AVP;unicast` sessions (RFC 2326
 * §12.39 `server_port`): one pair on consecutive ports — RTP on an even
 * port, RTCP on the next (RFC 3550 §11) — shared by every UDP session, as
 * many cameras do. Datagrams arriving on them (receiver reports, NAT
 * "latching" packets, ONVIF back-channel RTP) are handed to `onDatagram` with
 * their source, unparsed.
 *
 * RTP leaves at a paced rate, like a camera's Ethernet port, not as one burst:
 * an I_PCM keyframe is ~1000 packets, and written in one go it overflows a
 * receiver's default socket buffer (Linux rmem_default ≈ 208 KiB) — Janus's
 * streaming plugin lost ~40 % of every IDR that way and never decoded a frame.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const BIND_ATTEMPTS = 32; // an even free port whose successor is also free is found within a few tries
const RATE_BYTES_PER_MS = 12_500; // 100 Mbit/s, a camera's Fast Ethernet port: a 720p I_PCM IDR (~1.4 MB) takes ~110 ms
const BURST_BYTES = 32 * 1024; // what may go out at once after an idle spell (well under a 208 KiB socket buffer)

export interface UdpPairHandlers {
  /** A datagram arrived on the RTP (`rtcp` false) or RTCP (`rtcp` true) socket (at most 64 KiB, unparsed). */
  onDatagram(from: { address: string; port: number }, rtcp: boolean, data: Buffer): void;
  onError(err: Error): void;
}

export class UdpPair {
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly #rtp: dgram.Socket;
  readonly #rtcp: dgram.Socket;
  #closed = false;
  /** Packets waiting for the pacer, oldest first, and the byte budget it has earned. */
  #queue: { packet: Buffer; address: string; port: number }[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #budget = BURST_BYTES;
  #lastRefill = performance.now();
  #timer: NodeJS.Timeout | undefined;

  private constructor(rtp: dgram.Socket, rtcp: dgram.Socket, h: UdpPairHandlers) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.rtpPort = rtp.address().port;
    this.rtcpPort = rtcp.address().port;
    rtp.on('message', (m, r) => h.onDatagram({ address: r.address, port: r.port }, false, m));
    rtcp.on('message', (m, r) => h.onDatagram({ address: r.address, port: r.port }, true, m));
    rtp.on('error', (e) => h.onError(e));
    rtcp.on('error', (e) => h.onError(e));
  }

  /** Binds RTP on an even free port of `host` and RTCP on the port after it. */
  static async bind(host: string, h: UdpPairHandlers): Promise<UdpPair> {
    const type = net.isIPv6(host) ? 'udp6' : 'udp4';
    let lastErr: unknown;
    for (let i = 0; i < BIND_ATTEMPTS; i++) {
      const rtp = dgram.createSocket(type);
      try {
        await bindSocket(rtp, host, 0);
      } catch (err) {
        rtp.close();
        throw err;
      }
      const port = rtp.address().port;
      if (port % 2 !== 0 || port === 65535) {
        rtp.close();
        continue;
      }
      const rtcp = dgram.createSocket(type);
      try {
        await bindSocket(rtcp, host, port + 1);
        return new UdpPair(rtp, rtcp, h);
      } catch (err) {
        lastErr = err;
        rtp.close();
        rtcp.close();
      }
    }
    throw new Error(`no free UDP port pair on ${host} after ${BIND_ATTEMPTS} tries`, { cause: lastErr });
  }

  /** Bytes not yet handed to the kernel, paced or in the socket's queue (the slow-viewer signal). */
  get queuedBytes(): number {
    return this.#closed ? 0 : this.#queuedBytes + this.#rtp.getSendQueueSize();
  }

  sendRtp(packets: Buffer[], address: string, port: number): void {
    if (this.#closed) return;
    for (const packet of packets) {
      this.#queue.push({ packet, address, port });
      this.#queuedBytes += packet.length;
    }
    this.#drain();
  }

  /** Sends what the budget allows, then waits a millisecond for more budget (token bucket). */
  #drain(): void {
    if (this.#closed || this.#timer) return;
    const now = performance.now();
    this.#budget = Math.min(BURST_BYTES, this.#budget + (now - this.#lastRefill) * RATE_BYTES_PER_MS);
    this.#lastRefill = now;
    while (this.#queueHead < this.#queue.length && this.#budget > 0) {
      const q = this.#queue[this.#queueHead++]!;
      this.#budget -= q.packet.length;
      this.#queuedBytes -= q.packet.length;
      this.#rtp.send(q.packet, q.port, q.address);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, 1);
  }

  sendRtcp(packet: Buffer, address: string, port: number): void {
    if (!this.#closed) this.#rtcp.send(packet, port, address);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const s of [this.#rtp, this.#rtcp]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}

function bindSocket(s: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    s.once('error', onError);
    s.bind({ address: host, port, exclusive: true }, () => {
      s.off('error', onError);
      resolve();
    });
  });
}
