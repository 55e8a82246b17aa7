/**
 * Camera URLs carry credentials (`rtsp://user:pass@host/path`). They are split
 * off here, once, so that everything downstream — requests, logs, errors,
 * events — only ever sees the URL without userinfo.
 */
import { redactString } from '../util/redact.js';

export interface ParsedRtspUrl {
  /** The URL without userinfo; this is what goes on the wire and into logs. */
  url: string;
  /** Hostname for `net.connect` (IPv6 without brackets). */
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export const DEFAULT_RTSP_PORT = 554; // RFC 2326 §3.2

/** Parses an `rtsp://` URL. Throws TypeError (with the URL redacted) when it is not one. */
export function parseRtspUrl(input: string): ParsedRtspUrl {
  if (typeof input !== 'string') throw new TypeError('url must be a string');
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw new TypeError(`url ${JSON.stringify(redactString(input).slice(0, 200))} is not a valid URL`);
  }
  if (u.protocol !== 'rtsp:') {
    throw new TypeError(`url must use the rtsp: scheme (rtsps is not supported), got ${JSON.stringify(u.protocol)}`);
  }
  if (!u.hostname) throw new TypeError('url must name a host');
  const port = u.port === '' ? DEFAULT_RTSP_PORT : Number(u.port);
  const out: ParsedRtspUrl = {
    url: '',
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
  };
  try {
    if (u.username) out.username = decodeURIComponent(u.username);
    if (u.password) out.password = decodeURIComponent(u.password);
  } catch {
    throw new TypeError('url credentials are not valid percent-encoding');
  }
  u.username = '';
  u.password = '';
  u.hash = '';
  out.url = u.toString();
  return out;
}
