/** Bytes the simulated camera writes on its RTSP connection: responses (RFC 2326 §7) and interleaved frames (§10.12). */

const SERVER_HEADER = 'camgate-camera-sim/0.1';

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  461: 'Unsupported Transport',
  501: 'Not Implemented',
  505: 'RTSP Version Not Supported',
  551: 'Option not supported',
};

/** One RTSP/1.0 response with CSeq, Server, Date, the given headers and an optional UTF-8 body. */
export function formatResponse(
  status: number,
  cseq: number | undefined,
  headers: Record<string, string> = {},
  body?: string,
): Buffer {
  const lines = [`RTSP/1.0 ${status} ${REASONS[status] ?? 'Error'}`];
  if (cseq !== undefined) lines.push(`CSeq: ${cseq}`);
  lines.push(`Server: ${SERVER_HEADER}`, `Date: ${new Date().toUTCString()}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
  if (payload) lines.push(`Content-Length: ${payload.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return payload ? Buffer.concat([head, payload]) : head;
}

/** RFC 2326 §10.12: '$', channel, 16-bit length. */
export function interleavedHeader(channel: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h[0] = 0x24;
  h[1] = channel;
  h.writeUInt16BE(length, 2);
  return h;
}
