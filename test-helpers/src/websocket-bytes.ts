/**
 * What a WebSocket server actually reads from a recorded client byte stream:
 * the HTTP upgrade requests and every frame payload with the client's mask
 * removed (RFC 6455 §5.3 — clients mask every frame, so searching the raw
 * bytes for a secret would find nothing even if it were sent). `chunks` may
 * hold several connections one after another (TcpProxy.upstreamBytes); a
 * connection cut mid-frame keeps what arrived of that frame.
 */
export function unmaskClientStream(chunks: readonly Buffer[]): Buffer {
  const all = Buffer.concat(chunks);
  const out: Buffer[] = [];
  // Each connection starts with its upgrade request; split there and decode each connection alone.
  const starts: number[] = [];
  for (let i = all.indexOf('GET /'); i !== -1; i = all.indexOf('GET /', i + 1)) starts.push(i);
  starts.forEach((start, k) => {
    const end = starts[k + 1] ?? all.length;
    const conn = all.subarray(start, end);
    const headEnd = conn.indexOf('\r\n\r\n');
    if (headEnd === -1) {
      out.push(conn);
      return;
    }
    out.push(conn.subarray(0, headEnd + 4));
    let i = headEnd + 4;
    while (i + 2 <= conn.length) {
      const masked = (conn[i + 1]! & 0x80) !== 0;
      let len = conn[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) {
        len = conn.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        len = Number(conn.readBigUInt64BE(p));
        p += 8;
      }
      const key = masked ? conn.subarray(p, p + 4) : Buffer.alloc(4);
      if (masked) p += 4;
      const payload = Buffer.from(conn.subarray(p, Math.min(p + len, conn.length)));
      for (let j = 0; j < payload.length; j++) payload[j]! ^= key[j % 4]!;
      out.push(payload);
      i = p + len;
    }
  });
  return Buffer.concat(out);
}
