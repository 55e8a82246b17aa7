import { CamgateError } from '../../util/index.js';

/**
 * H.264 payload selection for a WebRTC answer.
 *
 * We forward the camera's H.264 unchanged, so the only thing negotiated is the
 * label. Browsers decode any profile their decoder supports regardless of the
 * `profile-level-id` in SDP (Chromium 156 advertises no High profile, yet a
 * High stream under a negotiated `42e01f` decodes fine), so the choice is:
 * 1. only payloads with `packetization-mode=1` (RFC 6184 §6.2: FU-A and STAP-A,
 *    which large IDR slices need; mode 0 allows single NAL units only);
 * 2. among those, the one whose profile_idc matches the camera's, when known;
 * 3. else `42e01f` (Constrained Baseline 3.1, the profile every WebRTC
 *    endpoint must support, RFC 7742 §6.2), else any Constrained Baseline,
 *    else the first mode-1 H.264 payload in offer order (the offerer's preference).
 */

/** One H.264 payload type offered in an SDP video section. */
export interface H264Payload {
  payloadType: number;
  /** The `a=fmtp` parameter string, verbatim ('' when absent). */
  fmtp: string;
  /** Lower-case 6-hex `profile-level-id`, '42001f' when absent (RFC 6184 §8.1 default is baseline). */
  profileLevelId: string;
  packetizationMode: number;
  /** `a=rtcp-fb` values offered for this payload (e.g. 'nack', 'nack pli', 'ccm fir'). */
  rtcpFeedback: string[];
}

/** Offers larger than this are refused before parsing (a browser offer is ~5 KiB). */
export const MAX_SDP_BYTES = 64 * 1024;

/** The profile we fall back to: Constrained Baseline, level 3.1. */
export const FALLBACK_PROFILE_LEVEL_ID = '42e01f';

/** Throws CAMGATE_ENGINE_SDP when `sdp` is not a string of sane size. */
export function assertSdp(sdp: unknown, what: string): asserts sdp is string {
  if (typeof sdp !== 'string') throw new CamgateError('CAMGATE_ENGINE_SDP', `${what} must be a string`);
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES)
    throw new CamgateError('CAMGATE_ENGINE_SDP', `${what} is larger than ${MAX_SDP_BYTES} bytes`);
  if (!/^v=0\r?$/m.test(sdp.split('\n', 1)[0] ?? ''))
    throw new CamgateError('CAMGATE_ENGINE_SDP', `${what} is not SDP (must start with v=0, RFC 8866 §5)`);
}

/** Lists the H.264 payloads in the first video m-section of `sdp` (offer order). */
export function parseH264Payloads(sdp: string): H264Payload[] {
  const lines = sdp.split(/\r?\n/);
  let inVideo = false;
  let seenVideo = false;
  let order: number[] = [];
  const rtpmap = new Map<number, string>();
  const fmtp = new Map<number, string>();
  const fb = new Map<number, string[]>();
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (seenVideo) break; // only the first video section
      inVideo = line.startsWith('m=video ');
      if (inVideo) {
        seenVideo = true;
        // RFC 8866 §5.14: m=<media> <port> <proto> <fmt> ...
        order = line
          .split(' ')
          .slice(3)
          .map((s) => Number(s))
          .filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
      }
      continue;
    }
    if (!inVideo) continue;
    let m = /^a=rtpmap:(\d{1,3}) ([^/\s]+)\/(\d+)/.exec(line);
    if (m) {
      if (Number(m[3]) === 90000) rtpmap.set(Number(m[1]), m[2]!.toUpperCase());
      continue;
    }
    m = /^a=fmtp:(\d{1,3}) (.*)$/.exec(line);
    if (m) {
      fmtp.set(Number(m[1]), m[2]!.trim());
      continue;
    }
    m = /^a=rtcp-fb:(\d{1,3}) (.+)$/.exec(line);
    if (m) {
      const pt = Number(m[1]);
      fb.set(pt, [...(fb.get(pt) ?? []), m[2]!.trim()]);
    }
  }
  const out: H264Payload[] = [];
  for (const pt of order) {
    if (rtpmap.get(pt) !== 'H264') continue;
    const params = fmtp.get(pt) ?? '';
    const kv = new Map<string, string>();
    for (const part of params.split(';')) {
      const [k, v] = part.split('=', 2);
      if (k && v !== undefined) kv.set(k.trim().toLowerCase(), v.trim());
    }
    const pli = (kv.get('profile-level-id') ?? '42001f').toLowerCase();
    out.push({
      payloadType: pt,
      fmtp: params,
      profileLevelId: /^[0-9a-f]{6}$/.test(pli) ? pli : '42001f',
      packetizationMode: Number(kv.get('packetization-mode') ?? '0'),
      rtcpFeedback: fb.get(pt) ?? [],
    });
  }
  return out;
}

/**
 * Picks the payload to answer with (rules in the file comment). `cameraProfileLevelId`
 * is the camera's `profile-level-id` when known. Throws CAMGATE_ENGINE_NO_H264 when
 * the offer has no H.264 payload with packetization-mode=1.
 */
export function selectH264Payload(payloads: readonly H264Payload[], cameraProfileLevelId?: string): H264Payload {
  const usable = payloads.filter((p) => p.packetizationMode === 1);
  if (usable.length === 0) {
    throw new CamgateError(
      'CAMGATE_ENGINE_NO_H264',
      'the offer has no H.264 video payload with packetization-mode=1 (RFC 6184 §6.3); the engine forwards H.264 only',
    );
  }
  const cam = cameraProfileLevelId?.toLowerCase();
  if (cam && /^[0-9a-f]{6}$/.test(cam)) {
    const exact = usable.find((p) => p.profileLevelId === cam);
    if (exact) return exact;
    const sameProfile = usable.find((p) => p.profileLevelId.slice(0, 2) === cam.slice(0, 2));
    if (sameProfile) return sameProfile;
  }
  return (
    usable.find((p) => p.profileLevelId === FALLBACK_PROFILE_LEVEL_ID) ??
    // profile_idc 0x42 with constraint_set1 (0x40 bit) = Constrained Baseline (RFC 6184 §8.1)
    usable.find(
      (p) => p.profileLevelId.startsWith('42') && (parseInt(p.profileLevelId.slice(2, 4), 16) & 0x40) !== 0,
    ) ??
    usable[0]!
  );
}

/**
 * The offer as werift should see it: the first video section keeps only
 * `payloadType`. werift matches codecs by MIME type and answers with the first
 * H.264 payload of the offer, whatever its profile or our configuration; an
 * answer must be a subset of the offer (RFC 3264 §6.1), so narrowing the offer
 * we hand to werift makes its answer carry exactly the payload we chose.
 */
export function restrictVideoPayloads(sdp: string, payloadType: number): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  let section: 'none' | 'video' | 'done' = 'none';
  const attr = /^a=(rtpmap|fmtp|rtcp-fb):(\d{1,3})[ ]/;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (section === 'video') section = 'done';
      if (section === 'none' && line.startsWith('m=video ')) {
        section = 'video';
        const parts = line.split(' ');
        out.push([...parts.slice(0, 3), String(payloadType)].join(' '));
        continue;
      }
    }
    if (section === 'video') {
      const m = attr.exec(line);
      if (m && Number(m[2]) !== payloadType) continue;
    }
    out.push(line);
  }
  return out.join(eol);
}

/** The first video m-section of an SDP (for direction checks). */
export function videoSection(sdp: string): string {
  const start = sdp.search(/^m=video /m);
  if (start < 0) return '';
  const rest = sdp.slice(start + 1);
  const end = rest.search(/^m=/m);
  return end < 0 ? sdp.slice(start) : sdp.slice(start, start + 1 + end);
}
