/**
 * The simulated camera's RTSP server (RFC 2326): OPTIONS, DESCRIBE, SETUP
 * (RTP interleaved in the RTSP connection, §10.12, or over UDP unicast to the
 * client's own address, §12.39), PLAY, GET_PARAMETER,
 * TEARDOWN, with Digest authentication on every method. Tracks: H.264 video
 * (RFC 6184, packetization-mode 1), optionally audio (G.711 or AAC, see
 * audio-track.ts) and the ONVIF back channel (backchannel.ts), which a client
 * gets by sending `Require: www.onvif.org/ver20/backchannel`.
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
import type { AudioFormat } from './audio-track.js';
import type { BackchannelRecorder } from './backchannel.js';
import type { DigestAuthenticator } from './digest-auth.js';
import { buildSenderReport } from './rtcp-sr.js';
import { formatResponse, interleavedHeader } from './rtsp-response.js';
import { RtspRequestReader, type RtspRequest } from './rtsp-request.js';
import {
  destClashes,
  freeChannel,
  newAudioTrack,
  random32,
  rtpPacket,
  sessionDests,
  type Session,
  type SrCounters,
  type TrackDest,
} from './rtsp-session.js';
import { chooseTransport, SIM_TRANSPORTS, type SimTransport } from './rtsp-transport.js';
import { buildSdp, ONVIF_BACKCHANNEL_TAG, TRACK_CONTROLS, type RtspStreamInfo, type TrackKind } from './sdp.js';
import { UdpPair } from './udp-pair.js';

export type { RtspStreamInfo } from './sdp.js';

export interface RtspServerOptions {
  path: string;
  auth: DigestAuthenticator | undefined;
  stream: RtspStreamInfo;
  /** The audio track, when the camera has a microphone. */
  audio?: AudioFormat;
  /** The ONVIF back channel's format and where what arrives on it goes. */
  backchannel?: BackchannelRecorder;
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
// RTCP sender report period: RFC 3550 §6.2 allows a "reduced minimum" of 360 / (session kbit/s) seconds,
// ~0.1 s for our multi-megabit stream, so one per second is well within the rules and lets receivers sync fast.
const SR_INTERVAL_MS = 1000; // 1 s
const CNAME = 'camera-sim@camgate';
const RTP_MTU = 1400; // payload bytes per RTP packet, what cameras use on TCP as on UDP

interface Connection {
  socket: net.Socket;
  reader: RtspRequestReader;
  session: Session | undefined;
  idle: NodeJS.Timeout;
  /** The client's DESCRIBE required the ONVIF back channel (and the camera has one). */
  onvif: boolean;
}

/** One encoded picture handed to `deliver`. */
export interface SimPicture {
  frameNumber: number;
  keyframe: boolean;
  nalus: Buffer[];
  /** Capture time on the camera's clock (epoch ms), what the RTCP sender reports map RTP time to. */
  captureMs: number;
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
          onDatagram: (from, rtcp, data) => this.#onDatagram(from, rtcp, data),
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

  /** Sends one picture to every playing session that set up video. */
  deliver(pic: SimPicture): void {
    const { stream, maxQueuedBytes } = this.#opts;
    for (const c of this.#conns) {
      const s = c.session;
      const v = s?.video;
      if (!s?.playing || !v || c.socket.destroyed) continue;
      if (v.waitingForIdr && !pic.keyframe) {
        if (v.firstFrame !== undefined) this.#framesDropped++; // not counted while a new viewer waits for its first IDR
        continue;
      }
      if (v.dest.kind === 'udp' && !this.#udp) continue;
      if (this.#queued(c, v.dest) > maxQueuedBytes) {
        this.#framesDropped++;
        // The viewer is too slow: drop this picture and every one up to the next IDR (H.264 needs the chain).
        if (!v.waitingForIdr) this.#log.debug('viewer too slow, waiting for next IDR', { session: s.id });
        v.waitingForIdr = true;
        continue;
      }
      v.waitingForIdr = false;
      v.firstFrame ??= pic.frameNumber;
      const nalus = pic.keyframe && stream.parameterSetsInBand ? [stream.sps, stream.pps, ...pic.nalus] : pic.nalus;
      // 90 kHz RTP clock (RFC 6184 §5.1), counted from this session's random base.
      const timestamp = (v.tsBase + Math.round(((pic.frameNumber - v.firstFrame) * 90000) / stream.fps)) >>> 0;
      const packets = v.packetizer.packetize({ nalus, timestamp, keyframe: pic.keyframe });
      const sr = this.#count(v, v.packetizer.ssrc, packets, timestamp, pic.captureMs);
      this.#send(c, v.dest, packets, sr);
    }
  }

  /**
   * Sends audio packet `index` (on the camera's clock: its first sample is sample index·samplesPerPacket) to
   * every playing session that set up audio. A viewer too slow to take it loses it (audio has no chain to keep).
   */
  deliverAudio(index: number, payload: Buffer, samplesPerPacket: number, captureMs: number): void {
    const format = this.#opts.audio;
    if (!format) return;
    for (const c of this.#conns) {
      const s = c.session;
      const a = s?.audio;
      if (!s?.playing || !a || c.socket.destroyed) continue;
      if (a.dest.kind === 'udp' && !this.#udp) continue;
      if (this.#queued(c, a.dest) > this.#opts.maxQueuedBytes) continue;
      const first = a.firstPacket === undefined;
      a.firstPacket ??= index;
      const timestamp = (a.tsBase + (index - a.firstPacket) * samplesPerPacket) >>> 0;
      // Marker: RFC 3640 §3.2.1 sets it on every packet ending an AU (every AAC packet here);
      // RFC 3551 §4.1 on the first packet of a talkspurt (the first G.711 packet of the stream).
      const marker = format.codec === 'AAC' || first;
      const packet = rtpPacket(format.payloadType, a.seq, timestamp, a.ssrc, marker, payload);
      a.seq = (a.seq + 1) & 0xffff;
      const sr = this.#count(a, a.ssrc, [packet], timestamp, captureMs);
      this.#send(c, a.dest, [packet], sr);
    }
  }

  #queued(c: Connection, dest: TrackDest): number {
    return dest.kind === 'udp' ? (this.#udp?.queuedBytes ?? 0) : c.socket.writableLength;
  }

  /**
   * Counts what a track sent and, once per second, builds its RTCP sender report. Every track's report maps
   * the RTP timestamp of what was just sent to that media's capture time on the camera's one clock, so a
   * receiver lines audio and video up exactly (RFC 3550 §6.4.1: the NTP and RTP timestamps of one instant).
   */
  #count(t: SrCounters, ssrc: number, packets: Buffer[], rtpTimestamp: number, captureMs: number): Buffer | undefined {
    for (const p of packets) {
      t.packets++;
      t.octets += p.length - 12; // payload octets only (RFC 3550 §6.4.1)
    }
    const now = performance.now();
    if (t.lastSrAt !== undefined && now - t.lastSrAt < SR_INTERVAL_MS) return undefined;
    t.lastSrAt = now;
    const { packets: packetCount, octets: octetCount } = t;
    return buildSenderReport({ ssrc, wallClockMs: captureMs, rtpTimestamp, packetCount, octetCount, cname: CNAME });
  }

  /** RTP (and a sender report, sent first so a receiver can place the first packet already) to a track. */
  #send(c: Connection, dest: TrackDest, packets: Buffer[], sr: Buffer | undefined): void {
    if (dest.kind === 'udp') {
      if (sr) this.#udp?.sendRtcp(sr, dest.address, dest.rtcpPort);
      this.#udp?.sendRtp(packets, dest.address, dest.rtpPort);
      return;
    }
    const framed: Buffer[] = [];
    if (sr) framed.push(interleavedHeader(dest.channel + 1, sr.length), sr);
    for (const p of packets) framed.push(interleavedHeader(dest.channel, p.length), p);
    c.socket.write(Buffer.concat(framed));
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const idle = setTimeout(() => {
      this.#log.debug('closing idle RTSP connection');
      socket.destroy();
    }, this.#opts.sessionTimeoutS * 1000);
    const conn: Connection = { socket, reader: new RtspRequestReader(), session: undefined, idle, onvif: false };
    this.#conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      idle.refresh();
      for (const input of conn.reader.push(chunk)) {
        if (input.kind === 'request') this.#handle(conn, input.request);
        else if (input.kind === 'interleaved') {
          // Back-channel RTP on its channel; anything else (the client's RTCP receiver reports) only keeps us alive.
          const b = conn.session?.backchannel?.dest;
          if (b?.kind === 'tcp' && input.channel === b.channel) this.#onBackchannel(conn, input.data);
        } else {
          this.#log.debug('bad RTSP request', { status: input.status, reason: input.reason });
          this.#respond(conn, input.cseq, input.status, { Connection: 'close' });
          socket.end();
          return;
        }
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

  #onDatagram(from: { address: string; port: number }, rtcp: boolean, data: Buffer): void {
    const conn = this.#udpPeers.get(`${from.address}|${from.port}`);
    if (!conn) return;
    conn.idle.refresh();
    const b = conn.session?.backchannel?.dest;
    if (!rtcp && b?.kind === 'udp' && b.rtpPort === from.port) this.#onBackchannel(conn, data);
  }

  /** RTP from a client's back channel: taken only while its session plays. */
  #onBackchannel(conn: Connection, packet: Buffer): void {
    const rec = this.#opts.backchannel;
    if (!rec) return;
    if (!conn.session?.playing) {
      rec.reject();
      return;
    }
    rec.push(packet);
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

  /** The URL as the client addressed it: the stream's base (scheme, host, port from the request) and the track. */
  #resolve(req: RtspRequest): { base: string; track: TrackKind | undefined } | undefined {
    let u: URL;
    try {
      u = new URL(req.uri);
    } catch {
      return undefined;
    }
    if (u.protocol !== 'rtsp:') return undefined;
    const path = u.pathname.replace(/\/+$/, '');
    const want = this.#opts.path.replace(/\/+$/, '');
    const base = `rtsp://${u.host}${want}`;
    if (path === want) return { base, track: undefined };
    for (const kind of this.#tracks()) if (path === `${want}/${TRACK_CONTROLS[kind]}`) return { base, track: kind };
    return undefined;
  }

  /** The tracks this camera has. */
  #tracks(): TrackKind[] {
    const t: TrackKind[] = ['video'];
    if (this.#opts.audio) t.push('audio');
    if (this.#opts.backchannel) t.push('backchannel');
    return t;
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
    const required = (req.headers.get('require') ?? '').split(',').map((t) => t.trim());
    // RFC 2326 §12.32: the one extension we know is the ONVIF back channel, and only when the camera has one.
    const unsupported = required.filter((t) => t !== '' && !(this.#opts.backchannel && t === ONVIF_BACKCHANNEL_TAG));
    if (unsupported.length > 0) {
      const list = unsupported.join(', ').replace(/[^\x20-\x7e]/g, '');
      return this.#respond(conn, req.cseq, 551, { Unsupported: list.slice(0, 200) }); // §12.43
    }
    switch (req.method) {
      case 'OPTIONS':
        return this.#respond(conn, req.cseq, 200, { Public: PUBLIC_METHODS });
      case 'DESCRIBE':
        conn.onvif = required.includes(ONVIF_BACKCHANNEL_TAG);
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
    const url = this.#resolve(req);
    if (!url || url.track !== undefined) return this.#respond(conn, req.cseq, 404);
    const { stream, audio, backchannel } = this.#opts;
    const sdp = buildSdp({
      local: conn.socket.localAddress ?? '127.0.0.1',
      sessionId: randomInt(1, 2 ** 31),
      video: stream,
      ...(audio ? { audio } : {}),
      // ONVIF §5.3.1: the back channel is described only to a client that required it.
      ...(backchannel && conn.onvif ? { backchannel: backchannel.format } : {}),
    });
    const headers = { 'Content-Base': `${url.base}/`, 'Content-Type': 'application/sdp' };
    this.#respond(conn, req.cseq, 200, headers, sdp);
  }

  #setup(conn: Connection, req: RtspRequest): void {
    const url = this.#resolve(req);
    if (!url) return this.#respond(conn, req.cseq, 404);
    const kind = url.track ?? 'video'; // SETUP of the stream URL itself means its video, as before tracks existed
    const sessionId = req.headers.get('session')?.split(';')[0]?.trim();
    if (sessionId !== undefined && conn.session?.id !== sessionId) return this.#respond(conn, req.cseq, 454);
    const peer = conn.socket.remoteAddress ?? '';
    const choice = chooseTransport(req.headers.get('transport') ?? '', this.#transports, peer);
    // 461 for what we do not serve (multicast, other profiles); 403 for a destination other than the peer.
    if (choice.kind === 'refused') return this.#respond(conn, req.cseq, choice.status);
    if (choice.kind === 'udp' && !this.#udp) return this.#respond(conn, req.cseq, 461);
    let dest: TrackDest;
    if (choice.kind === 'tcp') {
      const channel = choice.channel ?? freeChannel(conn.session, kind);
      if (channel === undefined) return this.#respond(conn, req.cseq, 461);
      dest = { kind: 'tcp', channel };
    } else dest = { kind: 'udp', address: peer, rtpPort: choice.rtpPort, rtcpPort: choice.rtcpPort };
    // Two tracks on one channel pair (or port pair) could not be told apart: refuse the second.
    if (destClashes(conn.session, kind, dest)) return this.#respond(conn, req.cseq, 461);
    if (!conn.session) {
      conn.session = { id: randomBytes(8).toString('hex').toUpperCase(), playing: false };
      this.#sessionsOpened++;
    }
    const s = conn.session;
    this.#forgetUdp(conn);
    let ssrc: number | undefined;
    if (kind === 'video') {
      s.video ??= {
        dest,
        packetizer: new H264Packetizer({ payloadType: 96, ssrc: random32(), mtu: RTP_MTU }),
        tsBase: random32(),
        firstFrame: undefined,
        waitingForIdr: true,
        packets: 0,
        octets: 0,
        lastSrAt: undefined,
      };
      s.video.dest = dest;
      ssrc = s.video.packetizer.ssrc;
    } else if (kind === 'audio') {
      s.audio ??= newAudioTrack(dest);
      s.audio.dest = dest;
      ssrc = s.audio.ssrc;
    } else s.backchannel = { dest };
    this.#rememberUdp(conn);
    const ssrcParam = ssrc === undefined ? '' : `;ssrc=${ssrc.toString(16).padStart(8, '0').toUpperCase()}`;
    let transport: string;
    if (dest.kind === 'udp' && this.#udp) {
      // §12.39: client_port echoed, server_port is where our RTP/RTCP come from; source names our address.
      const local = conn.socket.localAddress ?? '';
      transport =
        `RTP/AVP;unicast;client_port=${dest.rtpPort}-${dest.rtcpPort};` +
        `server_port=${this.#udp.rtpPort}-${this.#udp.rtcpPort};source=${local}${ssrcParam};mode="PLAY"`;
    } else {
      const ch = dest.kind === 'tcp' ? dest.channel : 0;
      transport = `RTP/AVP/TCP;unicast;interleaved=${ch}-${ch + 1}${ssrcParam};mode="PLAY"`;
    }
    this.#respond(conn, req.cseq, 200, { ...this.#sessionHeader(conn), Transport: transport });
  }

  #play(conn: Connection, req: RtspRequest): void {
    const sessionId = req.headers.get('session')?.split(';')[0]?.trim();
    const s = conn.session;
    if (!s) return this.#respond(conn, req.cseq, sessionId === undefined ? 455 : 454);
    if (sessionId !== s.id) return this.#respond(conn, req.cseq, 454);
    const url = req.uri === '*' ? undefined : this.#resolve(req);
    if (req.uri !== '*' && !url) return this.#respond(conn, req.cseq, 404);
    const base = url?.base ?? `rtsp://${conn.socket.localAddress}:${conn.socket.localPort}${this.#opts.path}`;
    // RFC 2326 §12.33: the first packet each track sends carries this seq and rtptime.
    const info: string[] = [];
    if (s.video) {
      const v = s.video;
      info.push(`url=${base}/${TRACK_CONTROLS.video};seq=${v.packetizer.nextSequence};rtptime=${v.tsBase}`);
    }
    if (s.audio) info.push(`url=${base}/${TRACK_CONTROLS.audio};seq=${s.audio.seq};rtptime=${s.audio.tsBase}`);
    this.#respond(conn, req.cseq, 200, {
      ...this.#sessionHeader(conn),
      Range: 'npt=now-',
      ...(info.length > 0 ? { 'RTP-Info': info.join(',') } : {}),
    });
    if (!s.playing) {
      s.playing = true;
      if (s.video) s.video.waitingForIdr = true;
      this.#setPlaying(this.#playing + 1);
    }
  }

  #endSession(conn: Connection): void {
    if (conn.session?.playing) {
      conn.session.playing = false;
      this.#setPlaying(this.#playing - 1);
    }
  }

  /** Maps the client's UDP ports of every track to the connection: their datagrams keep it alive. */
  #rememberUdp(conn: Connection): void {
    for (const { dest: d } of sessionDests(conn.session)) {
      if (d.kind !== 'udp') continue;
      for (const port of [d.rtpPort, d.rtcpPort]) this.#udpPeers.set(`${d.address}|${port}`, conn);
    }
  }

  #forgetUdp(conn: Connection): void {
    for (const { dest: d } of sessionDests(conn.session)) {
      if (d.kind !== 'udp') continue;
      for (const port of [d.rtpPort, d.rtcpPort]) {
        const key = `${d.address}|${port}`;
        if (this.#udpPeers.get(key) === conn) this.#udpPeers.delete(key);
      }
    }
  }

  #setPlaying(n: number): void {
    this.#playing = n;
    this.#opts.onPlayingChange(n);
  }
}
