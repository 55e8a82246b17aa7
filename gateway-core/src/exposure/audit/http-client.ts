import http from 'node:http';
import { CamgateError } from '../../util/index.js';

export interface BoundedRequest {
  url: URL;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Most response body bytes accepted; more fails with CAMGATE_AUDIT_TOO_LARGE. */
  maxBytes: number;
  signal?: AbortSignal;
}

export interface BoundedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One plain-HTTP request to a LAN device with a deadline and a size limit on
 * the answer. Only `http:` (IGDs do not speak TLS); errors are CamgateErrors.
 */
export function boundedRequest(req: BoundedRequest): Promise<BoundedResponse> {
  if (req.url.protocol !== 'http:')
    return Promise.reject(
      new CamgateError('CAMGATE_AUDIT_BAD_URL', `only http: URLs are fetched, got ${req.url.protocol}`),
    );
  return new Promise((resolve, reject) => {
    const r = http.request(
      req.url,
      {
        method: req.method ?? 'GET',
        headers: {
          ...req.headers,
          ...(req.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(req.body)) } : {}),
        },
        timeout: req.timeoutMs,
        signal: req.signal,
        // RFC 9112 §5: a device may not flood us with headers either.
        maxHeaderSize: 16 * 1024,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let len = 0;
        res.on('data', (c: Buffer) => {
          len += c.length;
          if (len > req.maxBytes) {
            r.destroy(
              new CamgateError('CAMGATE_AUDIT_TOO_LARGE', `answer from ${req.url.host} exceeds ${req.maxBytes} bytes`),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', fail);
      },
    );
    function fail(err: Error): void {
      reject(
        err instanceof CamgateError
          ? err
          : new CamgateError(
              'CAMGATE_AUDIT_HTTP',
              `${req.method ?? 'GET'} ${req.url.host}${req.url.pathname}: ${err.message}`,
            ),
      );
    }
    r.on('timeout', () =>
      r.destroy(new CamgateError('CAMGATE_AUDIT_HTTP', `no answer from ${req.url.host} in ${req.timeoutMs} ms`)),
    );
    r.on('error', fail);
    r.end(req.body);
  });
}
