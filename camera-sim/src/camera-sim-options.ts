/** Options of `startCameraSim`, their defaults and validation at the edge. */
import net from 'node:net';
import {
  validateSoundOptions,
  type CameraSimAudioOptions,
  type CameraSimBackchannelOptions,
  type CameraSimSyncMarkOptions,
} from './audio-options.js';
import { SIM_TRANSPORTS, type SimTransport } from './rtsp-transport.js';
import type { Logger } from '@camgate/core';

export interface CameraSimOptions {
  /** Address to listen on (an IP literal). */
  host?: string;
  /** RTSP port; 0 picks a free one. */
  port?: number;
  /** Path of the stream, starting with `/`. */
  path?: string;
  /** Digest username; without one the camera asks for no authentication. */
  username?: string;
  /** Digest password; required with `username`. */
  password?: string;
  /** Picture width in pixels (even, 32..4096). */
  width?: number;
  /** Picture height in pixels (even, 32..2304). */
  height?: number;
  /** Frames per second (integer 1..60). */
  fps?: number;
  /** Keyframe (IDR) interval in seconds; at least one frame. */
  gopSeconds?: number;
  /** Repeat SPS/PPS before every IDR; false sends them only in the SDP `sprop-parameter-sets`. */
  sendParameterSetsInBand?: boolean;
  /** Extra services on their own free ports, for the exposure scanner to find. */
  vulnerable?: { http?: boolean; telnet?: boolean };
  /** Seconds without any request or RTCP from a client before its connection is closed. */
  sessionTimeoutS?: number;
  /**
   * RTP transports offered at SETUP (RFC 2326 §12.39): `tcp` interleaved in the RTSP connection, `udp` unicast
   * to the RTSP client's own address from a UDP port pair on `host`. Anything else gets 461.
   */
  transports?: SimTransport[];
  /** Most simultaneous RTSP connections. */
  maxConnections?: number;
  /** Bytes queued to one viewer above which it loses pictures until the next IDR. */
  maxQueuedBytes?: number;
  /** A microphone: a sine tone (or the sync marks' beeps) as a second RTP track. */
  audio?: CameraSimAudioOptions;
  /** A speaker: the ONVIF back channel, recorded for `backchannelRecording()`. */
  backchannel?: CameraSimBackchannelOptions;
  /** A white flash in the picture and a beep in the audio at the same instant, every N seconds. */
  syncMarks?: CameraSimSyncMarkOptions;
  /** FFmpeg executable for AAC (default: `ffmpeg` on PATH, or `CAMGATE_FFMPEG`). */
  ffmpeg?: string;
  /** Wall clock drawn in the picture (epoch ms); tests may pin it. */
  clock?: () => number;
  logger?: Logger;
}

export const DEFAULT_CAMERA_SIM_OPTIONS = {
  host: '127.0.0.1',
  port: 0, // ephemeral
  path: '/stream1',
  width: 1280, // pixels
  height: 720, // pixels
  fps: 25, // frames per second
  gopSeconds: 4, // seconds between IDRs, a common camera default
  sendParameterSetsInBand: true,
  sessionTimeoutS: 60, // seconds, the RFC 2326 §12.37 default
  maxConnections: 64,
  maxQueuedBytes: 8 * 1024 * 1024, // 8 MiB: a few 720p I_PCM keyframes
  transports: SIM_TRANSPORTS, // both TCP-interleaved and UDP unicast
} as const;

export function validateCameraSimOptions(o: CameraSimOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('startCameraSim: options must be an object');
  const str = (name: keyof CameraSimOptions): void => {
    if (o[name] !== undefined && typeof o[name] !== 'string') {
      throw new TypeError(`${name} must be a string, got ${typeof o[name]}`);
    }
  };
  (['host', 'path', 'username', 'password', 'ffmpeg'] as const).forEach(str);
  for (const name of [
    'port',
    'width',
    'height',
    'fps',
    'gopSeconds',
    'sessionTimeoutS',
    'maxConnections',
    'maxQueuedBytes',
  ] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'number') {
      throw new TypeError(`${name} must be a number, got ${typeof o[name]}`);
    }
  }
  for (const name of ['sendParameterSetsInBand'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') {
      throw new TypeError(`${name} must be a boolean, got ${typeof o[name]}`);
    }
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new TypeError('clock must be a function');
  if (o.host !== undefined && net.isIP(o.host) === 0) throw new TypeError(`host must be an IP address, got ${o.host}`);
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw new RangeError(`port must be an integer 0..65535, got ${String(o.port)}`);
  }
  if (o.path !== undefined && !/^\/[A-Za-z0-9._~\-/]{0,200}$/.test(o.path)) {
    throw new RangeError(`path must start with / and use only URL-safe characters, got ${o.path}`);
  }
  if ((o.username === undefined) !== (o.password === undefined)) {
    throw new TypeError('username and password must be given together');
  }
  if (o.username !== undefined && (o.username === '' || /[:"\\\r\n]/.test(o.username))) {
    throw new RangeError('username must be non-empty and contain no : " \\ or line breaks');
  }
  if (o.password !== undefined && /[\r\n"\\]/.test(o.password)) {
    throw new RangeError('password must not contain " \\ or line breaks');
  }
  if (o.gopSeconds !== undefined && (typeof o.gopSeconds !== 'number' || !(o.gopSeconds > 0) || o.gopSeconds > 3600)) {
    throw new RangeError(`gopSeconds must be a number > 0 and <= 3600, got ${String(o.gopSeconds)}`);
  }
  const pos = (name: 'sessionTimeoutS' | 'maxConnections' | 'maxQueuedBytes', max: number): void => {
    const v = o[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) {
      throw new RangeError(`${name} must be an integer 1..${max}, got ${String(v)}`);
    }
  };
  pos('sessionTimeoutS', 86_400);
  pos('maxConnections', 10_000);
  pos('maxQueuedBytes', 1024 * 1024 * 1024);
  if (o.transports !== undefined) {
    const t: unknown = o.transports;
    if (!Array.isArray(t)) throw new TypeError(`transports must be an array of 'tcp' | 'udp', got ${typeof t}`);
    const bad = t.find((x) => !SIM_TRANSPORTS.includes(x as SimTransport));
    if (bad !== undefined) throw new RangeError(`transports: ${String(bad)} is not one of 'tcp', 'udp'`);
    if (t.length === 0 || new Set(t).size !== t.length) {
      throw new RangeError(`transports must list 'tcp' and/or 'udp' once each, got [${t.join(', ')}]`);
    }
  }
  if (o.vulnerable !== undefined && (o.vulnerable === null || typeof o.vulnerable !== 'object')) {
    throw new TypeError('vulnerable must be an object { http?: boolean; telnet?: boolean }');
  }
  validateSoundOptions(o);
}
