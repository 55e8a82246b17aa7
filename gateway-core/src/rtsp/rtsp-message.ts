/**
 * RTSP/1.0 message framing (RFC 2326 §4, §6, §7) with TCP-interleaved binary
 * frames (§10.12) mixed into the same byte stream.
 *
 * The parser is incremental and bounded: it never holds more than one header
 * block (`maxHeaderBytes`), one body (`maxBodyBytes`) or one interleaved frame
 * (`maxInterleavedBytes`). Anything that is not RTSP throws
 * `CamgateError('CAMGATE_RTSP_PROTOCOL')` and the parser stays failed: the
 * caller must drop the connection, since framing cannot be recovered.
 */
import { CamgateError } from '../util/errors.js';

/** Header names are stored lower-cased; a header may repeat (WWW-Authenticate). */
export type RtspHeaders = Map<string, string[]>;

export interface RtspResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: RtspHeaders;
  body: Buffer;
}

export interface RtspRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: RtspHeaders;
  body: Buffer;
}

/** One `$ channel length data` frame (RFC 2326 §10.12). */
export interface RtspInterleavedFrame {
  kind: 'interleaved';
  channel: number;
  data: Buffer;
}

export type RtspFrame = RtspResponse | RtspRequest | RtspInterleavedFrame;

export interface RtspParserOptions {
  /** Largest start line plus headers, in bytes, including the blank line. */
  maxHeaderBytes?: number;
  /** Largest message body (Content-Length), in bytes. */
  maxBodyBytes?: number;
  /** Largest interleaved frame, in bytes (the wire format allows up to 65535). */
  maxInterleavedBytes?: number;
  /** Most header lines per message. */
  maxHeaderCount?: number;
}

export const DEFAULT_RTSP_PARSER_OPTIONS = {
  maxHeaderBytes: 16 * 1024, // 16 KiB: real cameras send < 1 KiB of headers
  maxBodyBytes: 256 * 1024, // 256 KiB: an SDP is a few KiB
  maxInterleavedBytes: 65_535, // bytes: the 16-bit length field's maximum
  maxHeaderCount: 100, // header lines
} as const;

/** First header value (case-insensitive name), or undefined. */
export function getHeader(headers: RtspHeaders, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}

/** Every value of a header that may repeat. */
export function getHeaders(headers: RtspHeaders, name: string): string[] {
  return headers.get(name.toLowerCase()) ?? [];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^RTSP\/1\.\d (\d{3})(?: (.*))?$/;
const REQUEST_LINE = /^([A-Z][A-Z_-]*) (\S+) RTSP\/1\.\d$/;

function protocolError(message: string): CamgateError {
  return new CamgateError('CAMGATE_RTSP_PROTOCOL', message);
}

function checkLimit(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`RtspParser: ${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

/** Incremental parser for one RTSP connection's byte stream. */
export class RtspParser {
  readonly #maxHeader: number;
  readonly #maxBody: number;
  readonly #maxInterleaved: number;
  readonly #maxHeaderCount: number;
  #buf: Buffer = Buffer.alloc(0);
  #failed: CamgateError | undefined;

  constructor(opts: RtspParserOptions = {}) {
    const d = DEFAULT_RTSP_PARSER_OPTIONS;
    this.#maxHeader = checkLimit('maxHeaderBytes', opts.maxHeaderBytes ?? d.maxHeaderBytes, 64, 1 << 24);
    this.#maxBody = checkLimit('maxBodyBytes', opts.maxBodyBytes ?? d.maxBodyBytes, 0, 1 << 26);
    this.#maxInterleaved = checkLimit(
      'maxInterleavedBytes',
      opts.maxInterleavedBytes ?? d.maxInterleavedBytes,
      1,
      65_535,
    );
    this.#maxHeaderCount = checkLimit('maxHeaderCount', opts.maxHeaderCount ?? d.maxHeaderCount, 1, 10_000);
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Feeds bytes; returns every complete frame. Throws CAMGATE_RTSP_PROTOCOL on malformed input. */
  push(chunk: Buffer): RtspFrame[] {
    if (this.#failed) throw this.#failed;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: RtspFrame[] = [];
    try {
      for (;;) {
        const f = this.#next();
        if (!f) break;
        frames.push(f);
      }
    } catch (err) {
      this.#failed = err as CamgateError;
      this.#buf = Buffer.alloc(0);
      throw err;
    }
    return frames;
  }

  #next(): RtspFrame | undefined {
    // RFC 2326 §4: tolerate stray line ends between messages (some servers send an extra CRLF).
    let skip = 0;
    while (skip < this.#buf.length && (this.#buf[skip] === 0x0d || this.#buf[skip] === 0x0a)) skip++;
    if (skip > 0) this.#buf = this.#buf.subarray(skip);
    if (this.#buf.length === 0) return undefined;
    const first = this.#buf[0]!;
    if (first === 0x24) return this.#interleaved();
    if (first < 0x41 || first > 0x5a) {
      throw protocolError(`unexpected byte 0x${first.toString(16).padStart(2, '0')} at start of an RTSP message`);
    }
    return this.#message();
  }

  #interleaved(): RtspInterleavedFrame | undefined {
    if (this.#buf.length < 4) return undefined;
    const channel = this.#buf[1]!;
    const len = this.#buf.readUInt16BE(2);
    if (len > this.#maxInterleaved) {
      throw protocolError(`interleaved frame of ${len} bytes exceeds the limit of ${this.#maxInterleaved}`);
    }
    if (this.#buf.length < 4 + len) return undefined;
    const data = this.#buf.subarray(4, 4 + len);
    this.#buf = this.#buf.subarray(4 + len);
    return { kind: 'interleaved', channel, data };
  }

  #message(): RtspResponse | RtspRequest | undefined {
    const buf = this.#buf;
    // Check the start line as soon as it is complete, so garbage fails fast instead of filling the buffer.
    const firstLf = buf.indexOf(0x0a);
    const searchable = Math.min(buf.length, this.#maxHeader);
    if (firstLf < 0 || firstLf >= searchable) {
      if (buf.length >= this.#maxHeader) throw protocolError(`start line exceeds ${this.#maxHeader} bytes`);
      return undefined;
    }
    const startLine = buf.toString('latin1', 0, firstLf).replace(/\r$/, '');
    const status = STATUS_LINE.exec(startLine);
    const request = status ? null : REQUEST_LINE.exec(startLine);
    if (!status && !request)
      throw protocolError(`malformed RTSP start line: ${JSON.stringify(startLine.slice(0, 80))}`);
    const end = findHeaderEnd(buf, firstLf, searchable);
    if (!end) {
      if (buf.length >= this.#maxHeader) throw protocolError(`RTSP headers exceed ${this.#maxHeader} bytes`);
      return undefined;
    }
    const headers = this.#headers(buf.toString('latin1', firstLf + 1, end.headerEnd));
    const cl = getHeaders(headers, 'content-length');
    let bodyLen = 0;
    if (cl.length > 0) {
      if (cl.some((v) => v !== cl[0]) || !/^\d{1,10}$/.test(cl[0]!)) {
        throw protocolError(`invalid Content-Length ${JSON.stringify(cl.join(',').slice(0, 40))}`);
      }
      bodyLen = Number(cl[0]);
      if (bodyLen > this.#maxBody)
        throw protocolError(`body of ${bodyLen} bytes exceeds the limit of ${this.#maxBody}`);
    }
    if (buf.length < end.bodyStart + bodyLen) return undefined;
    const body = Buffer.from(buf.subarray(end.bodyStart, end.bodyStart + bodyLen));
    this.#buf = buf.subarray(end.bodyStart + bodyLen);
    if (status) {
      const code = Number(status[1]);
      if (code < 100 || code > 599) throw protocolError(`status code ${code} out of range`);
      return { kind: 'response', status: code, reason: status[2] ?? '', headers, body };
    }
    return { kind: 'request', method: request![1]!, uri: request![2]!, headers, body };
  }

  #headers(block: string): RtspHeaders {
    const headers: RtspHeaders = new Map();
    const lines = block.split(/\r?\n/);
    let last: { name: string; list: string[] } | undefined;
    let count = 0;
    for (const line of lines) {
      if (line === '') continue;
      if (line[0] === ' ' || line[0] === '\t') {
        // RFC 2616 §2.2 line folding, which RFC 2326 inherits: continue the previous value.
        if (!last) throw protocolError('header continuation line without a header');
        const i = last.list.length - 1;
        last.list[i] = `${last.list[i]!} ${line.trim()}`;
        continue;
      }
      if (++count > this.#maxHeaderCount) throw protocolError(`more than ${this.#maxHeaderCount} header lines`);
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon).trim() : '';
      if (!TOKEN.test(name)) throw protocolError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
      const key = name.toLowerCase();
      let list = headers.get(key);
      if (!list) headers.set(key, (list = []));
      list.push(line.slice(colon + 1).trim());
      last = { name: key, list };
    }
    return headers;
  }
}

/** Finds the blank line that ends the headers (CRLF CRLF, or bare LF LF as §4 allows). */
function findHeaderEnd(buf: Buffer, from: number, limit: number): { headerEnd: number; bodyStart: number } | undefined {
  for (let i = from; i < limit; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { headerEnd: i, bodyStart: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { headerEnd: i, bodyStart: i + 3 };
  }
  return undefined;
}

function headerLines(headers: Iterable<[string, string | number]>): string {
  let out = '';
  for (const [name, value] of headers) {
    const v = String(value);
    if (!TOKEN.test(name)) throw new TypeError(`RTSP header name ${JSON.stringify(name)} is not a token`);
    // A CR or LF in a value would let it inject headers or a whole message.
    if (/[\r\n]/.test(v)) throw new TypeError(`RTSP header ${name} contains a line break`);
    out += `${name}: ${v}\r\n`;
  }
  return out;
}

/** Serialises a request (RFC 2326 §6). Content-Length is added when there is a body. */
export function serializeRequest(
  method: string,
  uri: string,
  headers: Iterable<[string, string | number]>,
  body?: Buffer,
): Buffer {
  if (!/^[A-Z][A-Z_-]*$/.test(method)) throw new TypeError(`RTSP method ${JSON.stringify(method)} is invalid`);
  if (/[\s]/.test(uri) || uri.length === 0) throw new TypeError('RTSP request URI must be non-empty without spaces');
  const extra: [string, number][] = body && body.length > 0 ? [['Content-Length', body.length]] : [];
  const head = `${method} ${uri} RTSP/1.0\r\n${headerLines(headers)}${headerLines(extra)}\r\n`;
  return body && body.length > 0 ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** Serialises a response (RFC 2326 §7). Content-Length is added when there is a body. */
export function serializeResponse(
  status: number,
  reason: string,
  headers: Iterable<[string, string | number]>,
  body?: Buffer,
): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new RangeError(`RTSP status ${status} invalid`);
  if (/[\r\n]/.test(reason)) throw new TypeError('RTSP reason phrase contains a line break');
  const extra: [string, number][] = body && body.length > 0 ? [['Content-Length', body.length]] : [];
  const head = `RTSP/1.0 ${status} ${reason}\r\n${headerLines(headers)}${headerLines(extra)}\r\n`;
  return body && body.length > 0 ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** Frames `data` as an interleaved binary frame on `channel` (RFC 2326 §10.12). */
export function serializeInterleaved(channel: number, data: Buffer): Buffer {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255) throw new RangeError(`channel ${channel} not 0..255`);
  if (data.length > 65_535) throw new RangeError(`interleaved frame of ${data.length} bytes exceeds 65535`);
  const head = Buffer.from([0x24, channel, data.length >> 8, data.length & 0xff]);
  return Buffer.concat([head, data]);
}
