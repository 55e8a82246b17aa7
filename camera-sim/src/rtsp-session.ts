/**
 * One RTSP session of the simulated camera and the state of each track it
 * set up: where its RTP goes (an interleaved channel pair, RFC 2326 §10.12,
 * or the client's UDP ports, §12.39), its SSRC, sequence and timestamp base,
 * and the counters its RTCP sender reports carry (RFC 3550 §6.4.1).
 */
import { randomBytes } from 'node:crypto';
import type { H264Packetizer } from '@camgate/core/rtsp-wire';
import type { TrackKind } from './sdp.js';

/** Where a track's RTP goes: interleaved channel n (RTCP n+1), or UDP ports at the RTSP peer's address. */
export type TrackDest =
  { kind: 'tcp'; channel: number } | { kind: 'udp'; address: string; rtpPort: number; rtcpPort: number };

/** Packets and payload octets sent, and when the last sender report went out (performance.now()). */
export interface SrCounters {
  packets: number;
  octets: number;
  lastSrAt: number | undefined;
}

export interface VideoTrackState extends SrCounters {
  dest: TrackDest;
  packetizer: H264Packetizer;
  tsBase: number;
  firstFrame: number | undefined;
  waitingForIdr: boolean;
}

export interface AudioTrackState extends SrCounters {
  dest: TrackDest;
  ssrc: number;
  seq: number;
  tsBase: number;
  /** Index (on the camera's clock) of the first audio packet this session sent. */
  firstPacket: number | undefined;
}

export interface Session {
  id: string;
  playing: boolean;
  video?: VideoTrackState;
  audio?: AudioTrackState;
  /** The ONVIF back channel: RTP the client sends to the camera. */
  backchannel?: { dest: TrackDest };
}

export function random32(): number {
  return randomBytes(4).readUInt32BE(0);
}

export function newAudioTrack(dest: TrackDest): AudioTrackState {
  return {
    dest,
    ssrc: random32(),
    seq: random32() & 0xffff,
    tsBase: random32(),
    firstPacket: undefined,
    packets: 0,
    octets: 0,
    lastSrAt: undefined,
  };
}

/** The destinations of every track the session set up. */
export function sessionDests(s: Session | undefined): { kind: TrackKind; dest: TrackDest }[] {
  const out: { kind: TrackKind; dest: TrackDest }[] = [];
  if (s?.video) out.push({ kind: 'video', dest: s.video.dest });
  if (s?.audio) out.push({ kind: 'audio', dest: s.audio.dest });
  if (s?.backchannel) out.push({ kind: 'backchannel', dest: s.backchannel.dest });
  return out;
}

/** The lowest even interleaved channel pair no other track of the session uses. */
export function freeChannel(s: Session | undefined, except: TrackKind): number | undefined {
  const used = new Set(
    sessionDests(s)
      .filter((d) => d.kind !== except && d.dest.kind === 'tcp')
      .map((d) => (d.dest as { channel: number }).channel),
  );
  for (let ch = 0; ch <= 254; ch += 2) if (!used.has(ch) && !used.has(ch + 1) && !used.has(ch - 1)) return ch;
  return undefined;
}

/** True when another track of the session already uses channel n or n+1 (or UDP port a or b). */
export function destClashes(s: Session | undefined, except: TrackKind, d: TrackDest): boolean {
  return sessionDests(s).some((o) => {
    if (o.kind === except || o.dest.kind !== d.kind) return false;
    if (o.dest.kind === 'tcp' && d.kind === 'tcp') return Math.abs(o.dest.channel - d.channel) <= 1;
    if (o.dest.kind === 'udp' && d.kind === 'udp') {
      const a = [o.dest.rtpPort, o.dest.rtcpPort];
      return a.includes(d.rtpPort) || a.includes(d.rtcpPort);
    }
    return false;
  });
}

/** A 12-byte RTP header (RFC 3550 §5.1: V=2, no padding, extension or CSRC) and the payload. */
export function rtpPacket(pt: number, seq: number, ts: number, ssrc: number, marker: boolean, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + payload.length);
  out[0] = 0x80;
  out[1] = (marker ? 0x80 : 0) | (pt & 0x7f);
  out.writeUInt16BE(seq & 0xffff, 2);
  out.writeUInt32BE(ts >>> 0, 4);
  out.writeUInt32BE(ssrc >>> 0, 8);
  payload.copy(out, 12);
  return out;
}
