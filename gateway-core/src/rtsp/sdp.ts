/**
 * The part of SDP (RFC 8866, formerly RFC 4566) an RTSP client needs: media
 * sections with their `a=control`, `a=rtpmap` and `a=fmtp`, and the H.264
 * parameters of RFC 6184 §8.1. Audio sections are read by sdp-audio.ts;
 * other media (metadata) are parsed but not used.
 */
import { CamgateError } from '../util/errors.js';

export interface SdpMedia {
  /** `video`, `audio`, `application`… */
  type: string;
  port: number;
  protocol: string;
  /** Payload type numbers from the m= line. */
  formats: number[];
  /** `a=control` as written (absolute URL, relative path or `*`). */
  control?: string;
  rtpmap: Map<number, { encoding: string; clockRate: number; channels?: number }>;
  fmtp: Map<number, Map<string, string>>;
  /** RFC 8866 §6.7 direction attribute of the section, when it has one (else the session's applies). */
  direction?: SdpDirection;
}

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpSession {
  /** Session-level `a=control` (RFC 2326 §C.1.1: the aggregate control URL). */
  control?: string;
  /** Session-level direction attribute (RFC 8866 §6.7), when present. */
  direction?: SdpDirection;
  media: SdpMedia[];
}

/** The H.264 video track chosen from an SDP. */
export interface SdpH264Track {
  payloadType: number;
  clockRate: number;
  /** Absolute control URL for SETUP. */
  controlUrl: string;
  /** RFC 6184 §8.1: 0 single NAL, 1 non-interleaved, 2 interleaved. Absent means 0. */
  packetizationMode: number;
  profileLevelId?: string;
  sps?: Buffer;
  pps?: Buffer;
}

const MAX_SDP_LINES = 2000; // an SDP of a camera has ~30

function sdpError(message: string): CamgateError {
  return new CamgateError('CAMGATE_RTSP_SDP', message);
}

/** Parses SDP text. Unknown lines are ignored; a structurally broken m= or rtpmap line throws CAMGATE_RTSP_SDP. */
export function parseSdp(text: string): SdpSession {
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_SDP_LINES) throw sdpError(`SDP has more than ${MAX_SDP_LINES} lines`);
  if (!/^v=0\s*$/.test(lines[0] ?? '')) throw sdpError('SDP does not start with v=0');
  const session: SdpSession = { media: [] };
  let media: SdpMedia | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const kind = line[0];
    const value = line.slice(2);
    if (kind === 'm') {
      // RFC 8866 §5.14: m=<media> <port>[/<n>] <proto> <fmt> ...
      const m = /^(\S+) (\d+)(?:\/\d+)? (\S+)((?: \S+)*)$/.exec(value);
      if (!m) throw sdpError(`malformed m= line: ${JSON.stringify(line.slice(0, 80))}`);
      const formats = m[4]!
        .trim()
        .split(' ')
        .filter((f) => /^\d{1,3}$/.test(f))
        .map(Number);
      media = { type: m[1]!, port: Number(m[2]), protocol: m[3]!, formats, rtpmap: new Map(), fmtp: new Map() };
      session.media.push(media);
      continue;
    }
    if (kind !== 'a') continue;
    const colon = value.indexOf(':');
    const attr = colon < 0 ? value : value.slice(0, colon);
    const arg = colon < 0 ? '' : value.slice(colon + 1).trim();
    if (attr === 'sendrecv' || attr === 'sendonly' || attr === 'recvonly' || attr === 'inactive') {
      if (media) media.direction = attr;
      else session.direction = attr;
    } else if (attr === 'control') {
      if (media) media.control = arg;
      else session.control = arg;
    } else if (attr === 'rtpmap' && media) {
      // RFC 8866 §6.6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
      const r = /^(\d{1,3}) ([^/\s]+)\/(\d{1,9})(?:\/(\d{1,3}))?$/.exec(arg);
      if (!r) throw sdpError(`malformed rtpmap: ${JSON.stringify(arg.slice(0, 80))}`);
      const entry: { encoding: string; clockRate: number; channels?: number } = {
        encoding: r[2]!,
        clockRate: Number(r[3]),
      };
      if (r[4]) entry.channels = Number(r[4]);
      media.rtpmap.set(Number(r[1]), entry);
    } else if (attr === 'fmtp' && media) {
      const f = /^(\d{1,3}) (.*)$/.exec(arg);
      if (!f) continue; // a format-specific line we cannot read carries nothing we can use
      const params = new Map<string, string>();
      for (const part of f[2]!.split(';')) {
        const eq = part.indexOf('=');
        if (eq <= 0) continue;
        params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
      }
      media.fmtp.set(Number(f[1]), params);
    }
  }
  return session;
}

/**
 * Resolves an `a=control` value against the base URL (RFC 2326 §C.1.1:
 * Content-Base, else Content-Location, else the request URL). `*` or an empty
 * control means the base itself. Relative controls are appended to the base
 * with one `/`, as cameras and the common clients (live555, FFmpeg) do,
 * rather than by RFC 3986 resolution, which would drop the last path segment
 * of a base such as `rtsp://cam/stream1`.
 */
export function resolveControl(control: string | undefined, base: string): string {
  if (control === undefined || control === '' || control === '*') return base;
  if (/^rtsps?:\/\//i.test(control)) return control;
  const rel = control.replace(/^\/+/, '');
  if (control.startsWith('/')) {
    // An absolute path: keep the base's scheme and authority.
    const u = new URL(base);
    return `${u.protocol}//${u.host}/${rel}`;
  }
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

/** Decodes RFC 6184 §8.1 `sprop-parameter-sets`: comma-separated base64 NAL units. */
export function decodeSpropParameterSets(value: string): { sps?: Buffer; pps?: Buffer } {
  const out: { sps?: Buffer; pps?: Buffer } = {};
  for (const part of value.split(',')) {
    const b64 = part.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const nalu = Buffer.from(b64, 'base64');
    if (nalu.length === 0) continue;
    const type = nalu[0]! & 0x1f;
    if (type === 7 && !out.sps) out.sps = nalu;
    else if (type === 8 && !out.pps) out.pps = nalu;
  }
  return out;
}

/** The first H.264 video section, with its control resolved against `baseUrl`; undefined when there is none. */
export function findH264Track(sdp: SdpSession, baseUrl: string): SdpH264Track | undefined {
  for (const m of sdp.media) {
    if (m.type !== 'video') continue;
    for (const pt of m.formats) {
      const map = m.rtpmap.get(pt);
      if (!map || map.encoding.toUpperCase() !== 'H264') continue;
      const fmtp = m.fmtp.get(pt);
      const mode = fmtp?.get('packetization-mode');
      const track: SdpH264Track = {
        payloadType: pt,
        clockRate: map.clockRate,
        controlUrl: resolveControl(m.control, baseUrl),
        packetizationMode: mode !== undefined && /^\d$/.test(mode) ? Number(mode) : 0,
      };
      const pli = fmtp?.get('profile-level-id');
      if (pli && /^[0-9a-fA-F]{6}$/.test(pli)) track.profileLevelId = pli.toLowerCase();
      const sprop = fmtp?.get('sprop-parameter-sets');
      if (sprop) {
        const { sps, pps } = decodeSpropParameterSets(sprop);
        if (sps) track.sps = sps;
        if (pps) track.pps = pps;
      }
      return track;
    }
  }
  return undefined;
}

/** The H.265 video track chosen from an SDP (RFC 7798 §7.1). */
export interface SdpH265Track {
  payloadType: number;
  clockRate: number;
  /** Absolute control URL for SETUP. */
  controlUrl: string;
  /** sprop-max-don-diff: above 0 the packets carry DONL fields, which we do not read. */
  maxDonDiff: number;
  /** Parameter sets from sprop-vps/sprop-sps/sprop-pps (the first of each), when the SDP has them. */
  vps?: Buffer;
  sps?: Buffer;
  pps?: Buffer;
}

function firstBase64Nalu(value: string | undefined): Buffer | undefined {
  for (const part of (value ?? '').split(',')) {
    const b64 = part.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const nalu = Buffer.from(b64, 'base64');
    if (nalu.length >= 2) return nalu; // at least the two-byte NAL header (H.265 §7.3.1.2)
  }
  return undefined;
}

/** The first H.265 video section, with its control resolved against `baseUrl`; undefined when there is none. */
export function findH265Track(sdp: SdpSession, baseUrl: string): SdpH265Track | undefined {
  for (const m of sdp.media) {
    if (m.type !== 'video') continue;
    for (const pt of m.formats) {
      const map = m.rtpmap.get(pt);
      if (!map || map.encoding.toUpperCase() !== 'H265') continue;
      const fmtp = m.fmtp.get(pt);
      const don = fmtp?.get('sprop-max-don-diff');
      const track: SdpH265Track = {
        payloadType: pt,
        clockRate: map.clockRate,
        controlUrl: resolveControl(m.control, baseUrl),
        maxDonDiff: don !== undefined && /^\d{1,5}$/.test(don) ? Number(don) : 0,
      };
      const vps = firstBase64Nalu(fmtp?.get('sprop-vps'));
      const sps = firstBase64Nalu(fmtp?.get('sprop-sps'));
      const pps = firstBase64Nalu(fmtp?.get('sprop-pps'));
      if (vps) track.vps = vps;
      if (sps) track.sps = sps;
      if (pps) track.pps = pps;
      return track;
    }
  }
  return undefined;
}
