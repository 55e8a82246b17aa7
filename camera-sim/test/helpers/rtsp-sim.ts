/**
 * Test helpers for the simulated camera: a raw RTSP-over-TCP client that
 * speaks bytes (so tests can also send garbage), and FFmpeg runners that fail
 * loudly when FFmpeg is missing — CI installs it, tests never skip.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface RawResponse {
  status: number;
  reason: string;
  headers: Map<string, string>;
  body: string;
}

export interface InterleavedFrame {
  channel: number;
  data: Buffer;
}

type Waiter = () => void;

/** A minimal RTSP client over one TCP connection; every read is event-driven (no sleeps). */
export class RawRtspClient {
  readonly socket: net.Socket;
  readonly responses: RawResponse[] = [];
  readonly frames: InterleavedFrame[] = [];
  #buf = Buffer.alloc(0);
  #cseq = 0;
  #waiters: Waiter[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#parse();
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawRtspClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawRtspClient(s));
      });
      s.once('error', reject);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #parse(): void {
    for (;;) {
      if (this.#buf.length === 0) return;
      if (this.#buf[0] === 0x24) {
        if (this.#buf.length < 4) return;
        const len = this.#buf.readUInt16BE(2);
        if (this.#buf.length < 4 + len) return;
        this.frames.push({ channel: this.#buf[1]!, data: Buffer.from(this.#buf.subarray(4, 4 + len)) });
        this.#buf = this.#buf.subarray(4 + len);
        continue;
      }
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = this.#buf.toString('latin1', 0, end).split('\r\n');
      const m = /^RTSP\/1\.0 (\d{3}) (.*)$/.exec(lines[0] ?? '');
      if (!m) throw new Error(`not an RTSP response: ${JSON.stringify(lines[0])}`);
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      const len = Number(headers.get('content-length') ?? 0);
      if (this.#buf.length < end + 4 + len) return;
      const body = this.#buf.toString('utf8', end + 4, end + 4 + len);
      this.#buf = this.#buf.subarray(end + 4 + len);
      this.responses.push({ status: Number(m[1]), reason: m[2]!, headers, body });
    }
  }

  /** Resolves once `cond()` holds; rejects if the connection closes first. */
  waitFor(cond: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond()) return resolve();
        if (this.closed) return reject(new Error(`connection closed while waiting for ${what}`));
        this.#waiters.push(check);
      };
      check();
    });
  }

  /** Resolves when the server closes the connection. */
  waitClosed(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => (this.closed ? resolve() : void this.#waiters.push(check));
      check();
    });
  }

  send(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  /** Sends one request with the next CSeq and waits for its response. */
  async request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    const cseq = ++this.#cseq;
    const lines = [
      `${method} ${uri} RTSP/1.0`,
      `CSeq: ${cseq}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    const n = this.responses.length;
    this.send(lines.join('\r\n') + '\r\n\r\n');
    await this.waitFor(() => this.responses.length > n, `response to ${method}`);
    const res = this.responses[n]!;
    if (res.headers.get('cseq') !== String(cseq))
      throw new Error(`CSeq mismatch: sent ${cseq}, got ${res.headers.get('cseq')}`);
    return res;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Runs FFmpeg/FFprobe with an argument array; rejects with a clear message when the binary is missing. */
export function runTool(
  tool: 'ffmpeg' | 'ffprobe',
  args: string[],
  input?: Buffer,
): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'ENOENT'
            ? `${tool} is not installed: these tests need it (apt-get install ffmpeg); they never skip`
            : `${tool} failed to start: ${e.message}`,
        ),
      ),
    );
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: err, code }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Joins NAL units into an Annex B byte stream (start code 00 00 00 01 before each). */
export function annexB(nalus: Buffer[]): Buffer {
  const sc = Buffer.from([0, 0, 0, 1]);
  return Buffer.concat(nalus.flatMap((n) => [sc, n]));
}

/**
 * Decodes an Annex B H.264 stream and returns each frame's luma plane
 * (`width` x `height`, even sizes). Asks for raw yuv420p, not `gray`: the
 * gray conversion would rescale limited-range samples to full range.
 */
export async function decodeLuma(stream: Buffer, width: number, height: number): Promise<Buffer[]> {
  const args = ['-v', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'];
  const r = await runTool('ffmpeg', args, stream);
  if (r.code !== 0) throw new Error(`ffmpeg could not decode: ${r.stderr}`);
  if (r.stderr.trim() !== '') throw new Error(`ffmpeg reported decoding problems: ${r.stderr}`);
  const luma = width * height;
  const size = luma * 1.5;
  if (r.stdout.length % size !== 0)
    throw new Error(`decoded ${r.stdout.length} bytes, not a multiple of ${width}x${height}`);
  const frames: Buffer[] = [];
  for (let o = 0; o < r.stdout.length; o += size) frames.push(r.stdout.subarray(o, o + luma));
  return frames;
}

/** Luma of a rectangle, for comparing regions between frames. */
export function region(frame: Buffer, width: number, x: number, y: number, w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h);
  for (let r = 0; r < h; r++) frame.copy(out, r * w, (y + r) * width + x, (y + r) * width + x + w);
  return out;
}
