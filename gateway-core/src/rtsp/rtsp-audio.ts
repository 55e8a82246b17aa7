/**
 * The audio side of an RTSP session, kept out of rtsp-client.ts: DESCRIBE with
 * the ONVIF back-channel `Require` header (and its fallback), SETUP of the
 * camera's audio track (interleaved 2-3) and of its back channel (4-5) in the
 * session the video SETUP opened, audio RTP to frames, RTCP sender reports of
 * both tracks, and RTP we send on the back channel.
 */
import { randomInt } from 'node:crypto';
import { CamgateError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { AudioDepacketizer } from './audio-rtp.js';
import type { RtspAudioFrame } from './audio-rtp.js';
import { parseSenderReports } from './rtcp.js';
import { buildRtpPacket } from './rtp.js';
import type { RtspConnection } from './rtsp-connection.js';
import { getHeader } from './rtsp-message.js';
import type { RtspResponse } from './rtsp-message.js';
import type { SdpSession } from './sdp.js';
import { chooseAudioTracks, findAudioTracks } from './sdp-audio.js';
import type { RtspAudioInfo, SdpAudioTrack } from './sdp-audio.js';

/** ONVIF Streaming Spec §5.3.1: the feature tag a client sends to get (and use) the back channel. */
export const ONVIF_BACKCHANNEL_REQUIRE = 'www.onvif.org/ver20/backchannel';

/** The largest payload `sendBackchannel` takes: one packet that fits an Ethernet MTU with the headers. */
export const MAX_BACKCHANNEL_PAYLOAD_BYTES = 1400;

export interface RtspSenderReport {
  track: 'video' | 'audio';
  ntpMs: number;
  rtpTimestamp: number;
}

/** Something the client could not do for the audio, said once per client (also logged at info). */
export interface RtspNotice {
  code: 'CAMGATE_RTSP_AUDIO_UNSUPPORTED' | 'CAMGATE_RTSP_AUDIO_REFUSED' | 'CAMGATE_RTSP_NO_BACKCHANNEL';
  message: string;
}

export interface RtspAudioHooks {
  audio(info: RtspAudioInfo): void;
  audioFrame(frame: RtspAudioFrame): void;
  senderReport(sr: RtspSenderReport): void;
  backchannel(info: RtspAudioInfo): void;
  notice(notice: RtspNotice): void;
}

/** `[rtp, rtcp]` interleaved channels of a SETUP answer (RFC 2326 §12.39), or undefined when absent. */
export function interleavedChannels(setup: RtspResponse): [number, number] | undefined {
  const transport = getHeader(setup.headers, 'transport') ?? '';
  const m = /interleaved=(\d{1,3})(?:-(\d{1,3}))?/i.exec(transport);
  if (!m) return undefined;
  const rtp = Number(m[1]);
  const rtcp = m[2] === undefined ? rtp + 1 : Number(m[2]);
  return rtp <= 255 && rtcp <= 255 ? [rtp, rtcp] : undefined;
}

interface BackSender {
  channel: number;
  info: RtspAudioInfo;
  ssrc: number;
  seq: number;
  /** Timestamp the next packet continues from; undefined before the first (marks a talkspurt start). */
  nextTs: number | undefined;
}

export class RtspAudioSession {
  readonly #wantAudio: boolean;
  readonly #wantBack: boolean;
  readonly #log: Logger;
  readonly #hooks: RtspAudioHooks;
  readonly #noticed = new Set<string>();
  #conn: RtspConnection | undefined;
  #requireAccepted = false;
  #audioInfo: RtspAudioInfo | undefined;
  #depacketizer: AudioDepacketizer | undefined;
  #audioRtp = -1;
  #audioRtcp = -1;
  #videoRtcp = -1;
  #back: BackSender | undefined;
  #backInfo: RtspAudioInfo | undefined;

  constructor(o: { audio: boolean; backchannel: boolean; logger: Logger; hooks: RtspAudioHooks }) {
    this.#wantAudio = o.audio;
    this.#wantBack = o.backchannel;
    this.#log = o.logger;
    this.#hooks = o.hooks;
  }

  get audioInfo(): RtspAudioInfo | undefined {
    return this.#audioInfo;
  }

  get backchannelInfo(): RtspAudioInfo | undefined {
    return this.#backInfo;
  }

  /** A new connection: nothing set up on it yet. */
  reset(conn: RtspConnection): void {
    this.#conn = conn;
    this.#requireAccepted = false;
    this.#depacketizer = undefined;
    this.#audioRtp = this.#audioRtcp = this.#videoRtcp = -1;
    this.#back = undefined;
  }

  /**
   * DESCRIBE, with `Require: www.onvif.org/ver20/backchannel` when the back channel is wanted. A camera
   * that answers 551 Option Not Supported (RFC 2326 §11.3.14) is asked again without it, once.
   */
  async describe(conn: RtspConnection, url: string): Promise<RtspResponse> {
    const accept = { Accept: 'application/sdp' };
    if (!this.#wantBack) return conn.request('DESCRIBE', url, accept);
    const res = await conn.request('DESCRIBE', url, { ...accept, Require: ONVIF_BACKCHANNEL_REQUIRE });
    this.#requireAccepted = res.status >= 200 && res.status < 300;
    // 551 is the answer RFC 2326 gives; some cameras say 400 or 501. 404 stays 404 without the header too.
    if (this.#requireAccepted || res.status === 404) return res;
    this.#notice(
      'CAMGATE_RTSP_NO_BACKCHANNEL',
      `the camera has no back channel (${res.status} to the ONVIF Require header); playing without it`,
    );
    return conn.request('DESCRIBE', url, accept);
  }

  /** Headers for SETUP and PLAY: ONVIF §5.3.1 wants the Require header on each request of the session. */
  requireHeaders(): Record<string, string> {
    return this.#requireAccepted ? { Require: ONVIF_BACKCHANNEL_REQUIRE } : {};
  }

  /** After the video SETUP: the audio and back-channel SETUPs in the same session. Refusals are noticed, not thrown. */
  async setup(conn: RtspConnection, sdp: SdpSession, base: string, videoChannels: [number, number]): Promise<void> {
    this.#videoRtcp = videoChannels[1];
    const used = new Set<number>(videoChannels);
    const tracks = this.#wantAudio || this.#requireAccepted ? findAudioTracks(sdp, base) : [];
    const { receive, back } = chooseAudioTracks(tracks, this.#requireAccepted);
    let audioInfo: RtspAudioInfo | undefined;
    if (this.#wantAudio && receive) {
      const channels = await this.#setupTrack(conn, receive, 2, used, 'CAMGATE_RTSP_AUDIO_REFUSED', 'audio');
      if (channels) {
        [this.#audioRtp, this.#audioRtcp] = channels;
        audioInfo = receive.info;
        this.#depacketizer = new AudioDepacketizer({
          codec: receive.info.codec as Exclude<typeof receive.info.codec, 'OTHER'>,
          payloadType: receive.info.payloadType,
          ...(receive.aac ? { aac: receive.aac } : {}),
        });
      }
    }
    this.#audioInfo = audioInfo;
    if (audioInfo) this.#hooks.audio(audioInfo);
    this.#backInfo = undefined;
    if (!this.#wantBack) return;
    if (!this.#requireAccepted) return; // noticed at DESCRIBE
    if (!back) {
      this.#notice('CAMGATE_RTSP_NO_BACKCHANNEL', 'the camera has no back channel (no sendonly audio section)');
      return;
    }
    const channels = await this.#setupTrack(conn, back, 4, used, 'CAMGATE_RTSP_NO_BACKCHANNEL', 'back channel');
    if (!channels) return;
    // RFC 3550 §5.1: random initial sequence number; §8.1: random SSRC.
    this.#back = {
      channel: channels[0],
      info: back.info,
      ssrc: randomInt(2 ** 32),
      seq: randomInt(2 ** 16),
      nextTs: undefined,
    };
    this.#backInfo = back.info;
    this.#hooks.backchannel(back.info);
  }

  /** SETUP of one audio track on channels `first`-`first+1`; undefined (noticed) when the camera refuses it. */
  async #setupTrack(
    conn: RtspConnection,
    track: SdpAudioTrack,
    first: number,
    used: Set<number>,
    refusal: RtspNotice['code'],
    what: string,
  ): Promise<[number, number] | undefined> {
    if (track.info.codec === 'OTHER') {
      const code = what === 'audio' ? 'CAMGATE_RTSP_AUDIO_UNSUPPORTED' : refusal;
      this.#notice(code, `the camera's ${what} is ${track.unsupported ?? track.info.encodingName}; not set up`);
      return undefined;
    }
    let res: RtspResponse;
    try {
      res = await conn.request('SETUP', track.controlUrl, {
        Transport: `RTP/AVP/TCP;unicast;interleaved=${first}-${first + 1}`,
        ...this.requireHeaders(),
      });
    } catch (err) {
      // A camera that wants other credentials for its audio still plays video; a lost connection is the caller's.
      if (!(err instanceof CamgateError) || err.code !== 'CAMGATE_RTSP_AUTH') throw err;
      res = { kind: 'response', status: 403, reason: 'Forbidden', headers: new Map(), body: Buffer.alloc(0) };
    }
    const channels = res.status >= 200 && res.status < 300 ? interleavedChannels(res) : undefined;
    const transport = getHeader(res.headers, 'transport') ?? '';
    if (!channels || used.has(channels[0]) || used.has(channels[1]) || !/RTP\/AVP\/TCP/i.test(transport)) {
      const why = channels ? 'an unusable transport' : `${res.status} ${res.reason}`;
      this.#notice(refusal, `the camera refused the ${what} SETUP (${why}); video plays without it`);
      return undefined;
    }
    used.add(channels[0]).add(channels[1]);
    return channels;
  }

  /** Handles audio RTP and the RTCP of both tracks; false for channels that are not ours. */
  onInterleaved(channel: number, data: Buffer): boolean {
    if (channel === this.#audioRtp) {
      if (this.#depacketizer) for (const f of this.#depacketizer.push(data)) this.#hooks.audioFrame(f);
      return true;
    }
    const track = channel === this.#videoRtcp ? 'video' : channel === this.#audioRtcp ? 'audio' : undefined;
    if (!track) return false;
    for (const sr of parseSenderReports(data)) {
      this.#hooks.senderReport({ track, ntpMs: sr.ntpMs, rtpTimestamp: sr.rtpTimestamp });
    }
    return true;
  }

  /** One RTP packet on the back channel; false without one or when not `playing`. Throws on a bad argument. */
  send(payload: Buffer, timestamp: number, playing: boolean): boolean {
    if (!Buffer.isBuffer(payload)) throw new TypeError('sendBackchannel: payload must be a Buffer');
    if (payload.length === 0 || payload.length > MAX_BACKCHANNEL_PAYLOAD_BYTES) {
      throw new RangeError(
        `sendBackchannel: payload must be 1..${MAX_BACKCHANNEL_PAYLOAD_BYTES} bytes, got ${payload.length}`,
      );
    }
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
      throw new RangeError(`sendBackchannel: timestamp must be an integer 0..4294967295, got ${timestamp}`);
    }
    const b = this.#back;
    const conn = this.#conn;
    if (!playing || !b || !conn || conn.closed) return false;
    const codec = b.info.codec;
    // RFC 3640 §3.2: a packet of whole AAC AUs has the marker set. RFC 3551 §4.1 (G.711) and RFC 7587
    // §4.1 (Opus): the marker flags the first packet of a talkspurt — the first, or one that does not
    // continue the previous packet's timestamp.
    const marker = codec === 'AAC' || b.nextTs === undefined || (codec !== 'OPUS' && b.nextTs !== timestamp);
    const packet = buildRtpPacket({
      payloadType: b.info.payloadType,
      sequenceNumber: b.seq,
      timestamp,
      ssrc: b.ssrc,
      marker,
      payload,
    });
    if (!conn.sendInterleaved(b.channel, packet)) return false;
    b.seq = (b.seq + 1) & 0xffff;
    // G.711: one byte per sample and channel (RFC 3551 §4.5.14).
    b.nextTs = codec === 'PCMA' || codec === 'PCMU' ? (timestamp + payload.length / b.info.channels) >>> 0 : timestamp;
    return true;
  }

  #notice(code: RtspNotice['code'], message: string): void {
    if (this.#noticed.has(code)) return;
    this.#noticed.add(code);
    this.#log.info(message, { code });
    this.#hooks.notice({ code, message });
  }
}
