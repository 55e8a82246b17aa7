/**
 * The media backend the camera tiles stream from: the built-in camgate engine
 * started inside Homebridge (loopback only), or a Kurento Media Server named
 * by `media.kurentoUrl`. Both speak the Kurento protocol; each HomeKit stream
 * is one pipeline: PlayerEndpoint(camera) → RtpEndpoint(SDES-SRTP to the
 * Apple device). The RtpEndpoint's offer has an Opus audio section beside the
 * video (the camera's sound, and HomeKit's two-way audio back to the camera);
 * the answer written here from HomeKit's selection takes it or leaves it out.
 */
import { KurentoClient, KurentoEngine, createLogger, type Logger, type SecretSet } from '@camgate/core';
import { homebridgeSink, type PrefixedLog } from './log.js';

export interface StreamTarget {
  /** The Apple device's address (HAP SetupEndpoints `targetAddress`). */
  address: string;
  ipv6: boolean;
  /** Its video RTP port. */
  port: number;
  /** Payload type, MTU chosen by the controller in SelectedRTPStreamConfiguration. */
  payloadType: number;
  mtu: number;
  /** The sound HomeKit selected (Opus), when the stream has sound. */
  audio?: AudioTarget;
}

/** HomeKit's audio selection (HAP SelectedAudioParameters) and where its audio goes. */
export interface AudioTarget {
  /** The Apple device's audio port (RTP and RTCP on it, RFC 5761). */
  port: number;
  payloadType: number;
  /** Opus sample rate HomeKit selected, in Hz (16000 or 24000): the RTP clock it expects. */
  sampleRate: number;
  /** Milliseconds of audio per packet (HAP RTPTime). */
  packetTimeMs: number;
  /** kbit/s, HomeKit's maximum audio bitrate (0: not given). */
  maxBitrateKbps: number;
  /** The key HomeKit sends its own audio with (two-way audio), when SRTP is on. */
  srtp?: { key: Buffer; salt: Buffer };
  /** HomeKit may send the user's voice to the camera (plugin `talkBack` on). */
  talk: boolean;
}

export interface PreparedStream {
  /** Local UDP port and SSRC the backend sends from (they go into the SetupEndpoints response). */
  localPort: number;
  ssrc: number;
  /** The audio port and SSRC, when the backend offered audio (0 when it did not). */
  audioPort: number;
  audioSsrc: number;
  start(target: StreamTarget): Promise<void>;
  /** Releases the pipeline. Idempotent. */
  stop(): Promise<void>;
}

export interface MediaBackendOptions {
  kurentoUrl?: string;
  interfaceAddress?: string;
  log: PrefixedLog;
  secrets: SecretSet;
}

/** HAP-NodeJS hands master key (16 bytes) and salt (14 bytes) separately; SDES carries them joined (RFC 4568 §6.1). */
export function sdesFor(key: Buffer, salt: Buffer): Record<string, string> {
  return {
    __module__: 'kurento',
    __type__: 'SDES',
    crypto: 'AES_128_CM_HMAC_SHA1_80',
    keyBase64: Buffer.concat([key, salt]).toString('base64'),
  };
}

function answerSdp(t: StreamTarget, secure: boolean): string {
  const ip = t.ipv6 ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=- 0 0 IN ${ip} ${t.address}`,
    's=HomeKit controller',
    `c=IN ${ip} ${t.address}`,
    't=0 0',
    `m=video ${t.port} ${secure ? 'RTP/SAVP' : 'RTP/AVP'} ${t.payloadType}`,
    `a=rtpmap:${t.payloadType} H264/90000`,
    `a=fmtp:${t.payloadType} packetization-mode=1`,
    'a=recvonly',
    ...(t.audio ? audioAnswer(t.audio, secure) : []),
    '',
  ].join('\r\n');
}

/**
 * The Apple device's audio in SDP: Opus on the clock it selected (HomeKit runs Opus RTP at the sample
 * rate, not at RFC 7587's 48 kHz), its packet time and bitrate, `sendrecv` when it may talk back, and
 * its own key for what it sends (RFC 4568 §6.1).
 */
function audioAnswer(a: AudioTarget, secure: boolean): string[] {
  return [
    `m=audio ${a.port} ${secure ? 'RTP/SAVP' : 'RTP/AVP'} ${a.payloadType}`,
    ...(a.maxBitrateKbps > 0 ? [`b=AS:${a.maxBitrateKbps}`] : []),
    `a=rtpmap:${a.payloadType} opus/${a.sampleRate}`,
    `a=ptime:${a.packetTimeMs}`,
    'a=rtcp-mux',
    a.talk ? 'a=sendrecv' : 'a=recvonly',
    ...(secure && a.srtp
      ? [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.concat([a.srtp.key, a.srtp.salt]).toString('base64')}`]
      : []),
  ];
}

/** The port and SSRC of an offer's first `kind` section (the engine puts video first, KMS audio). */
export function offeredSection(offer: string, kind: 'video' | 'audio'): { port: number; ssrc: number } | undefined {
  const sections = offer.split(/\r?\n(?=m=)/);
  const section = sections.find((s) => s.startsWith(`m=${kind} `));
  const port = section ? /^m=\w+ (\d+) /.exec(section) : null;
  const ssrc = section ? /^a=ssrc:(\d+) /m.exec(section) : null;
  if (!port || !ssrc || Number(port[1]) === 0) return undefined;
  return { port: Number(port[1]), ssrc: Number(ssrc[1]) };
}

export class MediaBackend {
  readonly #opts: MediaBackendOptions;
  readonly #logger: Logger;
  #engine: KurentoEngine | undefined;
  #client: KurentoClient | undefined;
  #connecting: Promise<KurentoClient> | undefined;
  readonly #streams = new Set<PreparedStream>();
  #closed = false;

  constructor(opts: MediaBackendOptions) {
    this.#opts = opts;
    this.#logger = createLogger('camgate', homebridgeSink(opts.log), opts.secrets);
  }

  get kind(): string {
    return this.#opts.kurentoUrl ? 'Kurento Media Server' : 'built-in engine';
  }

  /**
   * The built-in engine's cached keyframe of `uri` (SPS, PPS, IDR) when a pull of it is open; undefined
   * with Kurento Media Server (no cache to read) or before the engine started. Opens nothing.
   */
  latestKeyframe(uri: string): Buffer[] | undefined {
    return this.#engine?.latestKeyframe(uri);
  }

  /** The Kurento URL of the backend (starts the built-in engine if needed). */
  async url(): Promise<string> {
    await this.#connect();
    return this.#opts.kurentoUrl ?? this.#engine!.url;
  }

  async #connect(): Promise<KurentoClient> {
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      let url = this.#opts.kurentoUrl;
      if (!url) {
        this.#engine = await KurentoEngine.start({
          port: 0,
          logger: this.#logger.child('engine'),
          ...(this.#opts.interfaceAddress ? { interfaceAddress: this.#opts.interfaceAddress } : {}),
        });
        url = this.#engine.url;
      }
      const client = await KurentoClient.connect(url, { logger: this.#logger.child('kurento') });
      this.#client = client;
      return client;
    })();
    try {
      return await this.#connecting;
    } finally {
      this.#connecting = undefined;
    }
  }

  /** Builds the pipeline and the RtpEndpoint's offer; nothing is sent before `start`. */
  async prepare(
    rtspUrl: string,
    srtp: { key: Buffer; salt: Buffer } | undefined,
    opts: { talkBack?: boolean } = {},
  ): Promise<PreparedStream> {
    if (this.#closed) throw new Error('the media backend is shut down');
    const client = await this.#connect();
    const pipeline = await client.create('MediaPipeline');
    let released = false;
    const stop = async (): Promise<void> => {
      if (released) return;
      released = true;
      this.#streams.delete(stream);
      await client.release(pipeline).catch((err: unknown) => this.#opts.log.debug(`release failed: ${String(err)}`));
    };
    const stream: PreparedStream = { localPort: 0, ssrc: 0, audioPort: 0, audioSsrc: 0, start: async () => {}, stop };
    this.#streams.add(stream);
    try {
      const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: rtspUrl });
      const rtp = await client.create('RtpEndpoint', {
        mediaPipeline: pipeline,
        ...(srtp ? { crypto: sdesFor(srtp.key, srtp.salt) } : {}),
        // The built-in engine's own parameter: HomeKit's voice goes to the camera only when asked for here.
        // Kurento Media Server has no such thing (no talk-back with KMS, README).
        ...(opts.talkBack === true && !this.#opts.kurentoUrl ? { talkBack: true } : {}),
      });
      const offer = String(await client.invoke(rtp, 'generateOffer', {}));
      const video = offeredSection(offer, 'video');
      if (!video) throw new Error('the media backend offered no video port or SSRC');
      stream.localPort = video.port;
      stream.ssrc = video.ssrc;
      const audio = offeredSection(offer, 'audio');
      if (audio) {
        stream.audioPort = audio.port;
        stream.audioSsrc = audio.ssrc;
      }
      stream.start = async (t) => {
        await client.invoke(rtp, 'setMtu', { mtu: t.mtu });
        await client.invoke(rtp, 'processAnswer', { answer: answerSdp(t, srtp !== undefined) });
        await client.invoke(player, 'connect', { sink: rtp });
        await client.invoke(player, 'play', {});
      };
      return stream;
    } catch (err) {
      await stop();
      throw err;
    }
  }

  /** Stops every stream, disconnects, stops the built-in engine. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams]) {
      try {
        await s.stop();
      } catch {
        // released with the engine below
      }
    }
    try {
      await this.#client?.close();
    } catch (err) {
      this.#opts.log.debug(`closing the Kurento client failed: ${String(err)}`);
    }
    try {
      await this.#engine?.close();
    } catch (err) {
      this.#opts.log.debug(`closing the engine failed: ${String(err)}`);
    }
  }
}
