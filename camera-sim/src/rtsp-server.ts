/**
 * The simulated camera's RTSP server (RFC 2326): OPTIONS, DESCRIBE, SETUP
 * (RTP interleaved in the RTSP connection, §10.12, or over UDP unicast to the
 * client's own address, §12.39), PLAY, GET_PARAMETER,
 * TEARDOWN, with Digest authentication on every method. One media track,
 * H.264 (RFC 6184, packetization-mode 1).
 *
 * Each session has its own SSRC, sequence numbers and timestamp base, and,
 * like a real camera, starts at the next IDR picture. A viewer that cannot
 * keep up (too many bytes queued on its socket) loses pictures until the next
 * IDR rather than growing memory without bound.
 */
import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@camgate/core';
import { H264Packetizer } from '@camgate/core/rtsp-wire';
import type { DigestAuthenticator } from './digest-auth.js';
import { buildSenderReport } from './rtcp-sr.js';
import { formatResponse, interleavedHeader } from './rtsp-response.js';
import { RtspRequestReader, type RtspRequest } from './rtsp-request.js';
import { chooseTransport, SIM_TRANSPORTS, type SimTransport } from './rtsp-transport.js';
import { UdpPair } from './udp-pair.js';

/** What the server streams: parameter sets and the SDP facts of the encoder. */
export interface RtspStreamInfo {
  fps: number;
  width: number;
  height: number;
  profileLevelId: string;
  spropParameterSets: string;
  sps: Buffer;
  pps: Buffer;
  /** Repeat SPS/PPS before every IDR (true) or only announce them in the SDP (false). */
  parameterSetsInBand: boolean;
}

export interface RtspServerOptions {
  path: string;
  auth: DigestAuthenticator | undefined;
  stream: RtspStreamInfo;
  logger: Logger;
  /** Seconds without any input from the client before the connection is closed (RFC 2326 §12.37). */
  sessionTimeoutS: number;
  /** Bytes queued on a viewer's socket above which pictures are dropped until the next IDR. */
  maxQueuedBytes: number;
  maxConnections: number;
  /** Lower transports served: RTP interleaved in the RTSP connection and/or RTP over UDP unicast (default both). */
  transports?: readonly SimTransport[];
  /** Called whenever the number of playing sessions changes. */
  onPlayingChange: (playing: number) => void;
}

const PUBLIC_METHODS = 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER';
const TRACK = 'trackID=0';
// RTCP sender report period: RFC 3550 §6.2 allows a "reduced minimum" of 360 / (session kbit/s) seconds,
// ~0.1 s for our multi-megabit stream, so one per second is well within the rules and lets receivers sync fast.
const SR_INTERVAL_MS = 1000; // 1 s
const CNAME = 'camera-sim@camgate';
const RTP_MTU = 1400; // payload bytes per RTP packet, what cameras use on TCP as on UDP

interface Session {
  id: string;
  playing: boolean;
  /** Where RTP goes: interleaved channel n (RTCP n+1), or UDP ports at the RTSP peer's address. */
  dest: { kind: 'tcp'; channel: number } | { kind: 'udp'; address: string; rtpPort: number; rtcpPort: number };
  packetizer: H264Packetizer;
  tsBase: number;
  firstFrame: number | undefined;
  waitingForIdr: boolean;
  /** RTP packets and payload octets sent, for RTCP sender reports (RFC 3550 §6.4.1). */
  packets: number;
  octets: number;
  /** performance.now() of the last sender report; undefined before the first. */
  lastSrAt: number | undefined;
}

interface Connection {
  socket: net.Socket;
  reader: RtspRequestReader;
  session: Session | undefined;
  idle: NodeJS.Timeout;
}

/** One encoded picture handed to `deliver`. */
export interface SimPicture {
  frameNumber: number;
  keyframe: boolean;
  nalus: Buffer[];
}

export class RtspServer {
  readonly #opts: RtspServerOptions;
  readonly #server: net.Server;
  readonly #conns = new Set<Connection>();
  readonly #log: Logger;
  readonly #transports: readonly SimTransport[];
  /** The shared RTP/RTCP socket pair, bound while listening when UDP is served. */
  #udp: UdpPair | undefined;
  /** UDP sessions by `address|port` of the client's RTP and RTCP ports: their datagrams keep them alive. */
  readonly #udpPeers = new Map<string, Connection>();
  #sessionsOpened = 0;
  #playing = 0;
  #framesDropped = 0;

  constructor(opts: RtspServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#transports = opts.transports ?? SIM_TRANSPORTS;
    this.#server = net.createServer((s) => this.#accept(s));
    this.#server.maxConnections = opts.maxConnections;
    this.#server.on('error', (err) => this.#log.warn('rtsp server error', { err }));
  }

  get sessionsOpened(): number {
    return this.#sessionsOpened;
  }

  get playing(): number {
    return this.#playing;
  }

  /** Pictures not sent to some viewer because it was too slow (summed over viewers). */
  get framesDropped(): number {
    return this.#framesDropped;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** UDP ports announced as `server_port` (RTP, RTCP); undefined unless UDP is served and listening. */
  get udpPorts(): { rtp: number; rtcp: number } | undefined {
    return this.#udp ? { rtp: this.#udp.rtpPort, rtcp: this.#udp.rtcpPort } : undefined;
  }

  async listen(host: string, port: number): Promise<number> {
    const bound = await new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host, port, exclusive: true }, () => {
        this.#server.off('error', onError);
        resolve((this.#server.address() as net.AddressInfo).port);
      });
    });
    if (this.#transports.includes('udp')) {
      try {
        this.#udp = await UdpPair.bind(host, {
          onDatagram: (from) => this.#udpPeers.get(`${from.address}|${from.port}`)?.idle.refresh(),
          onError: (err) => this.#log.debug('rtp udp socket error', { err }),
        });
      } catch (err) {
        await new Promise<void>((resolve) => this.#server.close(() => resolve()));
        throw err;
      }
    }
    return bound;
  }

  /** Stops listening and drops every connection. */
  async shutdown(): Promise<void> {
    for (const c of [...this.#conns]) c.socket.destroy();
    this.#udp?.close();
    this.#udp = undefined;
    this.#udpPeers.clear();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Sends one picture to every playing session. */
  deliver(pic: SimPicture): void {
    const { stream, maxQueuedBytes } = this.#opts;
    for (const c of this.#conns) {
      const s = c.session;
      if (!s?.playing || c.socket.destroyed) continue;
      if (s.waitingForIdr && !pic.keyframe) {
        if (s.firstFrame !== undefined) this.#framesDropped++; // not counted while a new viewer waits for its first IDR
        continue;
      }
      const udp = s.dest.kind === 'udp' ? this.#udp : undefined;
      if (s.dest.kind === 'udp' && !udp) continue;
      const queued = udp ? udp.queuedBytes : c.socket.writableLength;
      if (queued > maxQueuedBytes) {
        this.#framesDropped++;
        // The viewer is too slow: drop this picture and every one up to the next IDR (H.264 needs the chain).
        if (!s.waitingForIdr) this.#log.debug('viewer too slow, waiting for next IDR', { session: s.id });
        s.waitingForIdr = true;
        continue;
      }
      s.waitingForIdr = false;
      s.firstFrame ??= pic.frameNumber;
      const nalus = pic.keyframe && stream.parameterSetsInBand ? [stream.sps, stream.pps, ...pic.nalus] : pic.nalus;
      // 90 kHz RTP clock (RFC 6184 §5.1), counted from this session's random base.
      const timestamp = (s.tsBase + Math.round(((pic.frameNumber - s.firstFrame) * 90000) / stream.fps)) >>> 0;
      const packets = s.packetizer.packetize({ nalus, timestamp, keyframe: pic.keyframe });
      for (const p of packets) {
        s.packets++;
        s.octets += p.length - 12; // payload octets only (RFC 3550 §6.4.1)
      }
      // One sender report per second on the RTCP channel (n+1) or port, describing the picture just sent.
      let sr: Buffer | undefined;
      const now = performance.now();
      if (s.lastSrAt === undefined || now - s.lastSrAt >= SR_INTERVAL_MS) {
        s.lastSrAt = now;
        sr = buildSenderReport({
          ssrc: s.packetizer.ssrc,
          wallClockMs: Date.now(),
          rtpTimestamp: timestamp,
          packetCount: s.packets,
          octetCount: s.octets,
          cname: CNAME,
        });
      }
      if (s.dest.kind === 'udp') {
        udp?.sendRtp(packets, s.dest.address, s.dest.rtpPort);
        if (sr) udp?.sendRtcp(sr, s.dest.address, s.dest.rtcpPort);
        continue;
      }
      const framed: Buffer[] = [];
      for (const p of packets) framed.push(interleavedHeader(s.dest.channel, p.length), p);
      if (sr) framed.push(interleavedHeader(s.dest.channel + 1, sr.length), sr);
      c.socket.write(Buffer.concat(framed));
    }
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const idle = setTimeout(() => {
      this.#log.debug('closing idle RTSP connection');
      socket.destroy();
    }, this.#opts.sessionTimeoutS * 1000);
    const conn: Connection = { socket, reader: new RtspRequestReader(), session: undefined, idle };
    this.#conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      idle.refresh();
      for (const input of conn.reader.push(chunk)) {
        if (input.kind === 'request') this.#handle(conn, input.request);
        else if (input.kind === 'error') {
          this.#log.debug('bad RTSP request', { status: input.status, reason: input.reason });
          this.#respond(conn, input.cseq, input.status, { Connection: 'close' });
          socket.end();
          return;
        }
        // Interleaved frames from the client are its RTCP receiver reports: they only keep the session alive.
      }
      // Pipelined requests whose responses the client does not read: stop reading until it does.
      if (socket.writableNeedDrain && !conn.session?.playing) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
    socket.on('error', (err) => this.#log.debug('rtsp connection error', { err }));
    socket.on('close', () => {
      clearTimeout(idle);
      this.#conns.delete(conn);
      this.#endSession(conn);
      this.#forgetUdp(conn);
    });
  }

  #respond(
    conn: Connection,
    cseq: number | undefined,
    status: number,
    headers: Record<string, string> = {},
    body?: string,
  ): void {
    if (conn.socket.destroyed || conn.socket.writableEnded) return;
    conn.socket.write(formatResponse(status, cseq, headers, body));
  }

  /** The stream's URL as the client addressed it: scheme, host and port taken from the request when valid. */
  #baseUrl(req: RtspRequest): string | undefined {
    let u: URL;
    try {
      u = new URL(req.uri);
    } catch {
      return undefined;
    }
    if (u.protocol !== 'rtsp:') return undefined;
    const path = u.pathname.replace(/\/+$/, '');
    const want = this.#opts.path.replace(/\/+$/, '');
    const isTrack = path === `${want}/${TRACK}`;
    if (path !== want && !isTrack) return undefined;
    return `rtsp://${u.host}${want}`;
  }

  #handle(conn: Connection, req: RtspRequest): void {
    const { auth } = this.#opts;
    if (auth) {
      const r = auth.verify(req.headers.get('authorization'), req.method);
      if (!r.ok) {
        this.#respond(conn, req.cseq, 401, { 'WWW-Authenticate': auth.challenge(r.stale) });
        return;
      }
    }
    const required = req.headers.get('require');
    if (required !== undefined) {
      // RFC 2326 §12.32: we support no extensions, so every required option is unsupported (551).
      return this.#respond(conn, req.cseq, 551, { Unsupported: required.replace(/[^\x20-\x7e]/g, '').slice(0, 200) });
    }
    switch (req.method) {
      case 'OPTIONS':
        return this.#respond(conn, req.cseq, 200, { Public: PUBLIC_METHODS });
      case 'DESCRIBE':
        return this.#describe(conn, req);
      case 'SETUP':
        return this.#setup(conn, req);
      case 'PLAY':
        return this.#play(conn, req);
      case 'GET_PARAMETER':
        return this.#respond(conn, req.cseq, 200, this.#sessionHeader(conn));
      case 'TEARDOWN':
        this.#endSession(conn);
        this.#forgetUdp(conn);
        conn.session = undefined;
        return this.#respond(conn, req.cseq, 200);
      default:
        return this.#respond(conn, req.cseq, 501, { Public: PUBLIC_METHODS });
    }
  }

  #sessionHeader(conn: Connection): Record<string, string> {
    return conn.session ? { Session: `${conn.session.id};timeout=${this.#opts.sessionTimeoutS}` } : {};
  }

  #describe(conn: Connection, req: RtspRequest): void {
    const base = this.#baseUrl(req);
    if (!base) return this.#respond(conn, req.cseq, 404);
    const { stream } = this.#opts;
    const local = conn.socket.localAddress ?? '127.0.0.1';
    const ipv6 = net.isIPv6(local);
    // RFC 4566 SDP; RFC 6184 §8.2.1 fmtp parameters; RFC 2326 §C.1.1 a=control.
    const sdp = [
      'v=0',
      `o=- ${randomInt(1, 2 ** 31)} 1 IN ${ipv6 ? 'IP6' : 'IP4'} ${local}`,
      's=camgate camera-sim',
      `c=IN ${ipv6 ? 'IP6 ::' : 'IP4 0.0.0.0'}`,
      't=0 0',
      'a=control:*',
      'a=range:npt=now-',
      'm=video 0 RTP/AVP 96',
      'a=rtpmap:96 H264/90000',
      `a=fmtp:96 packetization-mode=1;profile-level-id=${stream.profileLevelId};sprop-parameter-sets=${stream.spropParameterSets}`,
      `a=framerate:${stream.fps}`,
      `a=x-dimensions:${stream.width},${stream.height}`,
      `a=control:${TRACK}`,
      '',
    ].join('\r\n');
    this.#respond(conn, req.cseq, 200, { 'Content-Base': `${base}/`, 'Content-Type': 'application/sdp' }, sdp);
  }

  #setup(conn: Connection, req: RtspRequest): void {
    if (!this.#baseUrl(req)) return this.#respond(conn, req.cseq, 404);
    const sessionId = req.headers.get('session')?.split(';')[0]?.trim();
    if (sessionId !== undefined && conn.session?.id !== sessionId) return this.#respond(conn, req.cseq, 454);
    const peer = conn.socket.remoteAddress ?? '';
    const choice = chooseTransport(req.headers.get('transport') ?? '', this.#transports, peer);
    // 461 for what we do not serve (multicast, other profiles); 403 for a destination other than the peer.
    if (choice.kind === 'refused') return this.#respond(conn, req.cseq, choice.status);
    if (choice.kind === 'udp' && !this.#udp) return this.#respond(conn, req.cseq, 461);
    const dest: Session['dest'] =
      choice.kind === 'tcp'
        ? { kind: 'tcp', channel: choice.channel }
        : { kind: 'udp', address: peer, rtpPort: choice.rtpPort, rtcpPort: choice.rtcpPort };
    if (!conn.session) {
      const ssrc = randomBytes(4).readUInt32BE(0);
      conn.session = {
        id: randomBytes(8).toString('hex').toUpperCase(),
        playing: false,
        dest,
        packetizer: new H264Packetizer({ payloadType: 96, ssrc, mtu: RTP_MTU }),
        tsBase: randomBytes(4).readUInt32BE(0),
        firstFrame: undefined,
        waitingForIdr: true,
        packets: 0,
        octets: 0,
        lastSrAt: undefined,
      };
      this.#sessionsOpened++;
    }
    const s = conn.session;
    this.#forgetUdp(conn);
    s.dest = dest;
    const ssrc = s.packetizer.ssrc.toString(16).padStart(8, '0').toUpperCase();
    let transport: string;
    if (dest.kind === 'udp' && this.#udp) {
      this.#udpPeers.set(`${dest.address}|${dest.rtpPort}`, conn);
      this.#udpPeers.set(`${dest.address}|${dest.rtcpPort}`, conn);
      // §12.39: client_port echoed, server_port is where our RTP/RTCP come from; source names our address.
      const local = conn.socket.localAddress ?? '';
      transport =
        `RTP/AVP;unicast;client_port=${dest.rtpPort}-${dest.rtcpPort};` +
        `server_port=${this.#udp.rtpPort}-${this.#udp.rtcpPort};source=${local};ssrc=${ssrc};mode="PLAY"`;
    } else {
      const ch = dest.kind === 'tcp' ? dest.channel : 0;
      transport = `RTP/AVP/TCP;unicast;interleaved=${ch}-${ch + 1};ssrc=${ssrc};mode="PLAY"`;
    }
    this.#respond(conn, req.cseq, 200, { ...this.#sessionHeader(conn), Transport: transport });
  }

  #play(conn: Connection, req: RtspRequest): void {
    const sessionId = req.headers.get('session')?.split(';')[0]?.trim();
    const s = conn.session;
    if (!s) return this.#respond(conn, req.cseq, sessionId === undefined ? 455 : 454);
    if (sessionId !== s.id) return this.#respond(conn, req.cseq, 454);
    const base = req.uri === '*' ? undefined : this.#baseUrl(req);
    if (req.uri !== '*' && !base) return this.#respond(conn, req.cseq, 404);
    const trackUrl = `${base ?? `rtsp://${conn.socket.localAddress}:${conn.socket.localPort}${this.#opts.path}`}/${TRACK}`;
    // RFC 2326 §12.33: the first packet this session sends carries this seq and rtptime.
    this.#respond(conn, req.cseq, 200, {
      ...this.#sessionHeader(conn),
      Range: 'npt=now-',
      'RTP-Info': `url=${trackUrl};seq=${s.packetizer.nextSequence};rtptime=${s.tsBase}`,
    });
    if (!s.playing) {
      s.playing = true;
      s.waitingForIdr = true;
      this.#setPlaying(this.#playing + 1);
    }
  }

  #endSession(conn: Connection): void {
    if (conn.session?.playing) {
      conn.session.playing = false;
      this.#setPlaying(this.#playing - 1);
    }
  }

  #forgetUdp(conn: Connection): void {
    const d = conn.session?.dest;
    if (d?.kind !== 'udp') return;
    for (const port of [d.rtpPort, d.rtcpPort]) {
      const key = `${d.address}|${port}`;
      if (this.#udpPeers.get(key) === conn) this.#udpPeers.delete(key);
    }
  }

  #setPlaying(n: number): void {
    this.#playing = n;
    this.#opts.onPlayingChange(n);
  }
}
