/**
 * One RTSP control connection over TCP: requests with CSeq (RFC 2326 §12.17),
 * the Session header (§12.37), Basic/Digest authentication with one retry on
 * 401 (§D.2), and the interleaved frames that share the socket (§10.12).
 * The reconnecting, stateful part lives in rtsp-client.ts.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { CamgateError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { basicAuthorization, chooseChallenge, digestAuthorization, parseWwwAuthenticate } from './digest-auth.js';
import type { AuthChallenge } from './digest-auth.js';
import {
  RtspParser,
  getHeader,
  getHeaders,
  serializeInterleaved,
  serializeRequest,
  serializeResponse,
} from './rtsp-message.js';
import type { RtspFrame, RtspResponse } from './rtsp-message.js';

export interface RtspConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  userAgent: string;
  /** Limit for one header block and for one body, in bytes. */
  maxMessageBytes: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  logger: Logger;
}

interface Pending {
  resolve: (r: RtspResponse) => void;
  reject: (e: CamgateError) => void;
  timer: NodeJS.Timeout;
}

/** Bytes of the one buffer a connection's socket reads into. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Reads a camera socket into one reused buffer (net.connect's `onread`)
 * rather than through a Readable stream: a camera writes each RTP packet on
 * its own, hundreds of reads a second, and the stream machinery around each
 * read cost more than parsing it. Each read is copied out, since the buffer
 * is reused and the parser keeps slices. Node starts reading a socket only
 * after its 'connect' listeners ran, and `RtspConnection.connect` attaches
 * the parser in its own, so no read comes before `attach()`.
 */
class SocketReader {
  #sink: ((chunk: Buffer) => void) | undefined;
  readonly onread = {
    buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
    callback: (n: number, buf: Buffer): boolean => {
      this.#sink?.(Buffer.from(buf.subarray(0, n)));
      return true;
    },
  };

  attach(sink: (chunk: Buffer) => void): void {
    this.#sink = sink;
  }
}

/**
 * Bytes queued on a camera socket above which interleaved data is dropped: a camera that
 * stopped reading must not make us buffer talk-back audio without end (256 KiB ≈ 30 s of G.711).
 */
const MAX_QUEUED_INTERLEAVED_BYTES = 256 * 1024;

/** RFC 2326 §3.4: session-id = 1*( ALPHA | DIGIT | safe ); we also bound its length. */
const SESSION_ID = /^[A-Za-z0-9$\-_.+]{1,256}$/;

export class RtspConnection extends EventEmitter<{
  interleaved: [channel: number, data: Buffer];
  close: [error: CamgateError | undefined];
}> {
  readonly #opts: RtspConnectionOptions;
  readonly #socket: net.Socket;
  readonly #parser: RtspParser;
  readonly #pending = new Map<number, Pending>();
  #cseq = 0;
  #auth: { challenge: AuthChallenge; nc: number } | undefined;
  #closed = false;
  /** Session id from SETUP, sent on every later request. */
  session: string | undefined;
  /** Session timeout in seconds from SETUP (RFC 2326 §12.37: 60 when absent). */
  sessionTimeoutS = 60;

  private constructor(opts: RtspConnectionOptions, socket: net.Socket, reader: SocketReader) {
    super();
    this.#opts = opts;
    this.#socket = socket;
    this.#parser = new RtspParser({ maxHeaderBytes: opts.maxMessageBytes, maxBodyBytes: opts.maxMessageBytes });
    reader.attach((chunk) => this.#onData(chunk));
    socket.on('error', (err) => {
      this.#shutdown(new CamgateError('CAMGATE_RTSP_DISCONNECTED', `camera connection error: ${err.message}`));
    });
    socket.on('close', () => {
      this.#shutdown(new CamgateError('CAMGATE_RTSP_DISCONNECTED', 'camera closed the connection'));
    });
  }

  /** Opens the TCP connection; rejects with CAMGATE_RTSP_CONNECT on failure or timeout. */
  static connect(opts: RtspConnectionOptions, signal?: AbortSignal): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      const reader = new SocketReader();
      const socket = net.connect({ host: opts.host, port: opts.port, onread: reader.onread });
      const onAbort = (): void => fail('connect aborted');
      const fail = (message: string): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(new CamgateError('CAMGATE_RTSP_CONNECT', message));
      };
      const timer = setTimeout(
        () => fail(`connect timed out after ${opts.connectTimeoutMs} ms`),
        opts.connectTimeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (err) => fail(`cannot connect to the camera: ${err.message}`));
      socket.once('connect', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new RtspConnection(opts, socket, reader));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request and resolves with the response. A 401 is answered once
   * with credentials (twice if the server says the nonce was stale); a second
   * refusal rejects with CAMGATE_RTSP_AUTH.
   */
  async request(
    method: string,
    url: string,
    headers: Record<string, string> = {},
    timeoutMs = this.#opts.requestTimeoutMs,
  ): Promise<RtspResponse> {
    let res = await this.#send(method, url, headers, timeoutMs);
    let answered = 0;
    while (res.status === 401) {
      if (this.#opts.username === undefined) {
        throw new CamgateError('CAMGATE_RTSP_AUTH', `${method}: the camera requires credentials and the URL has none`);
      }
      const challenge = chooseChallenge(parseWwwAuthenticate(getHeaders(res.headers, 'www-authenticate')));
      if (!challenge) {
        throw new CamgateError('CAMGATE_RTSP_AUTH', `${method}: the camera offers no authentication scheme we support`);
      }
      // RFC 7616 §3.3: stale=true means the credentials were right but the nonce expired.
      const stale = challenge.params.get('stale')?.toLowerCase() === 'true';
      if (answered >= 2 || (answered === 1 && !stale)) {
        throw new CamgateError('CAMGATE_RTSP_AUTH', `${method}: the camera refused the credentials (401)`);
      }
      this.#auth = { challenge, nc: 0 };
      answered++;
      this.#opts.logger.debug('answering authentication challenge', { method, scheme: challenge.scheme });
      res = await this.#send(method, url, headers, timeoutMs);
    }
    if (res.status === 403) throw new CamgateError('CAMGATE_RTSP_AUTH', `${method}: the camera refused access (403)`);
    return res;
  }

  /** Answers a request the server sent us (RFC 2326 allows OPTIONS/ANNOUNCE/SET_PARAMETER from the server). */
  #answerServerRequest(cseq: string | undefined, method: string): void {
    this.#opts.logger.debug('camera sent a request; answering 501', { method });
    const headers: [string, string][] = cseq && /^\d{1,10}$/.test(cseq) ? [['CSeq', cseq]] : [];
    this.#write(serializeResponse(501, 'Not Implemented', headers));
  }

  #authorization(method: string, url: string): string | undefined {
    const auth = this.#auth;
    const user = this.#opts.username;
    if (!auth || user === undefined) return undefined;
    const pass = this.#opts.password ?? '';
    if (auth.challenge.scheme.toLowerCase() === 'basic') return basicAuthorization(user, pass);
    auth.nc++;
    return digestAuthorization({
      username: user,
      password: pass,
      method,
      uri: url,
      challenge: auth.challenge,
      nc: auth.nc,
    });
  }

  #send(method: string, url: string, extra: Record<string, string>, timeoutMs: number): Promise<RtspResponse> {
    if (this.#closed) {
      return Promise.reject(new CamgateError('CAMGATE_RTSP_DISCONNECTED', 'connection is closed'));
    }
    const cseq = ++this.#cseq;
    const headers: [string, string | number][] = [
      ['CSeq', cseq],
      ['User-Agent', this.#opts.userAgent],
    ];
    const authz = this.#authorization(method, url);
    if (authz) headers.push(['Authorization', authz]);
    if (this.session) headers.push(['Session', this.session]);
    for (const [k, v] of Object.entries(extra)) headers.push([k, v]);
    const bytes = serializeRequest(method, url, headers);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(cseq);
        reject(new CamgateError('CAMGATE_RTSP_TIMEOUT', `${method}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(cseq, { resolve, reject, timer });
      this.#write(bytes);
    });
  }

  /** Records the Session header of a SETUP response (RFC 2326 §12.37: `id[;timeout=s]`). */
  adoptSession(res: RtspResponse): void {
    const value = getHeader(res.headers, 'session');
    if (value === undefined) throw new CamgateError('CAMGATE_RTSP_PROTOCOL', 'SETUP response has no Session header');
    const [id, ...params] = value.split(';').map((s) => s.trim());
    if (!id || !SESSION_ID.test(id))
      throw new CamgateError('CAMGATE_RTSP_PROTOCOL', 'SETUP response has an invalid session id');
    this.session = id;
    for (const p of params) {
      const m = /^timeout\s*=\s*(\d{1,6})$/i.exec(p);
      if (m) this.sessionTimeoutS = Math.max(1, Number(m[1]));
    }
  }

  /**
   * Writes one interleaved frame (RFC 2326 §10.12) — RTP we send, such as the ONVIF back channel.
   * False when the connection is closed or the camera is not reading what we already sent.
   */
  sendInterleaved(channel: number, data: Buffer): boolean {
    if (this.#closed || this.#socket.destroyed) return false;
    if (this.#socket.writableLength > MAX_QUEUED_INTERLEAVED_BYTES) return false;
    this.#socket.write(serializeInterleaved(channel, data));
    return true;
  }

  #write(bytes: Buffer): void {
    if (this.#closed || this.#socket.destroyed) return;
    this.#socket.write(bytes);
  }

  #onData(chunk: Buffer): void {
    let frames: RtspFrame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (err) {
      this.#shutdown(err as CamgateError);
      return;
    }
    for (const f of frames) {
      if (this.#closed) return;
      if (f.kind === 'interleaved') {
        this.emit('interleaved', f.channel, f.data);
      } else if (f.kind === 'request') {
        this.#answerServerRequest(getHeader(f.headers, 'cseq'), f.method);
      } else {
        const cseq = Number(getHeader(f.headers, 'cseq'));
        const p = this.#pending.get(cseq);
        if (!p) {
          this.#opts.logger.debug('response with an unknown CSeq ignored', { status: f.status });
          continue;
        }
        this.#pending.delete(cseq);
        clearTimeout(p.timer);
        p.resolve(f);
      }
    }
  }

  #shutdown(error: CamgateError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(error ?? new CamgateError('CAMGATE_RTSP_DISCONNECTED', 'connection closed'));
    }
    this.#pending.clear();
    this.emit('close', error);
  }

  /** Closes the socket at once; pending requests reject. Idempotent. */
  close(): void {
    this.#shutdown(undefined);
  }
}
