/**
 * Server-side reader for what an RTSP client sends over TCP: requests
 * (RFC 2326 §6) and, on the same connection, interleaved binary frames
 * (`$`, channel, 16-bit length — RFC 2326 §10.12) carrying the client's RTCP.
 *
 * Everything is size-limited. A malformed request cannot be resynchronised
 * (we would not know where the next one starts), so the reader reports one
 * error and ignores all later input; the server answers it and closes.
 */

export interface RtspRequest {
  method: string;
  uri: string;
  /** Header names lower-cased; the first occurrence of a repeated header wins. */
  headers: Map<string, string>;
  /** CSeq (RFC 2326 §12.17), a non-negative integer. */
  cseq: number;
  body: Buffer;
}

export type RtspInput =
  | { kind: 'request'; request: RtspRequest }
  | { kind: 'interleaved'; channel: number; data: Buffer }
  | { kind: 'error'; status: number; reason: string; cseq?: number };

export interface RtspRequestReaderOptions {
  /** Largest request line + headers, in bytes. */
  maxHeaderBytes?: number;
  /** Largest request body, in bytes. */
  maxBodyBytes?: number;
  /** Most header lines per request. */
  maxHeaders?: number;
}

export const DEFAULT_RTSP_REQUEST_READER_OPTIONS = {
  maxHeaderBytes: 8192, // bytes: clients send < 1 KB; an 8 KB cap is what common HTTP servers use
  maxBodyBytes: 4096, // bytes: only GET/SET_PARAMETER carry small bodies
  maxHeaders: 64, // header lines
} as const;

const HEADER_END = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 2326 §15.1 token
const MAX_URI = 2048; // characters

/** Incremental reader; `push` returns every complete input the chunk finished. */
export class RtspRequestReader {
  readonly #opts: Required<RtspRequestReaderOptions>;
  #buf: Buffer = Buffer.alloc(0);
  #failed = false;

  constructor(opts: RtspRequestReaderOptions = {}) {
    this.#opts = { ...DEFAULT_RTSP_REQUEST_READER_OPTIONS, ...opts };
  }

  /** True once a malformed request was seen; later input is ignored. */
  get failed(): boolean {
    return this.#failed;
  }

  push(chunk: Buffer): RtspInput[] {
    const out: RtspInput[] = [];
    if (this.#failed) return out;
    const buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    let off = 0;
    while (off < buf.length) {
      if (buf[off] === 0x24) {
        // RFC 2326 §10.12: '$', channel, 2-byte length, data.
        if (buf.length - off < 4) break;
        const len = buf.readUInt16BE(off + 2);
        if (buf.length - off < 4 + len) break;
        out.push({
          kind: 'interleaved',
          channel: buf[off + 1]!,
          data: Buffer.from(buf.subarray(off + 4, off + 4 + len)),
        });
        off += 4 + len;
        continue;
      }
      if (buf[off] === 0x0d || buf[off] === 0x0a) {
        off++; // stray CRLF between messages (RFC 2326 §4 allows clients to send them)
        continue;
      }
      const end = buf.indexOf(HEADER_END, off);
      if (end === -1) {
        if (buf.length - off > this.#opts.maxHeaderBytes) return this.#fail(out, 400, 'request header too large');
        break;
      }
      if (end - off > this.#opts.maxHeaderBytes) return this.#fail(out, 400, 'request header too large');
      const head = parseHead(buf.toString('latin1', off, end), this.#opts.maxHeaders);
      if ('status' in head) return this.#fail(out, head.status, head.reason, head.cseq);
      const lenText = head.headers.get('content-length') ?? '0';
      if (!/^\d{1,10}$/.test(lenText)) return this.#fail(out, 400, 'invalid Content-Length', head.cseq);
      const bodyLen = Number(lenText);
      if (bodyLen > this.#opts.maxBodyBytes) return this.#fail(out, 413, 'request body too large', head.cseq);
      const bodyStart = end + HEADER_END.length;
      if (buf.length - bodyStart < bodyLen) break;
      out.push({
        kind: 'request',
        request: { ...head, body: Buffer.from(buf.subarray(bodyStart, bodyStart + bodyLen)) },
      });
      off = bodyStart + bodyLen;
    }
    // Keep only the unparsed tail (bounded by maxHeaderBytes + maxBodyBytes + one interleaved frame).
    this.#buf = off >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return out;
  }

  #fail(out: RtspInput[], status: number, reason: string, cseq?: number): RtspInput[] {
    this.#failed = true;
    this.#buf = Buffer.alloc(0);
    out.push(cseq === undefined ? { kind: 'error', status, reason } : { kind: 'error', status, reason, cseq });
    return out;
  }
}

type Head = Omit<RtspRequest, 'body'>;
type HeadError = { status: number; reason: string; cseq?: number };

function parseHead(text: string, maxHeaders: number): Head | HeadError {
  const lines = text.split('\r\n');
  const requestLine = lines[0] ?? '';
  // RFC 2326 §6.1: Method SP Request-URI SP RTSP-Version
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return { status: 400, reason: 'malformed request line' };
  const [method, uri, version] = parts as [string, string, string];
  if (!TOKEN.test(method) || method.length > 32) return { status: 400, reason: 'malformed method' };
  if (uri.length === 0 || uri.length > MAX_URI || hasControlOrSpace(uri)) {
    return { status: 400, reason: 'malformed request URI' };
  }
  if (lines.length - 1 > maxHeaders) return { status: 400, reason: 'too many headers' };
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    // Continuation lines (leading whitespace) are obsolete and refused, like modern HTTP servers do.
    if (colon <= 0 || /^[ \t]/.test(line)) return { status: 400, reason: 'malformed header line' };
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) return { status: 400, reason: 'malformed header name' };
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const cseqText = headers.get('cseq');
  const cseq = cseqText !== undefined && /^\d{1,9}$/.test(cseqText) ? Number(cseqText) : undefined;
  if (version !== 'RTSP/1.0') return { status: 505, reason: 'RTSP version not supported', cseq };
  if (cseq === undefined) return { status: 400, reason: 'missing or invalid CSeq' };
  return { method, uri, headers, cseq };
}

/** True when `s` contains a control character, a space or DEL (not allowed in a Request-URI, RFC 2396 §2.4.3). */
function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}
