/**
 * One camera as a HomeKit camera accessory: HAP-NodeJS's CameraController
 * with a streaming delegate that asks the media backend for an SRTP stream
 * to the Apple device, plus the camera's exposure sensor.
 */
import { cameraUriWithCredentials, type CameraConfig } from '@camgate/core';
import type {
  API,
  CameraController,
  CameraStreamingDelegate,
  PlatformAccessory,
  PrepareStreamCallback,
  PrepareStreamRequest,
  SnapshotRequest,
  SnapshotRequestCallback,
  ReconfigureStreamRequest,
  StartStreamRequest,
  StreamingRequest,
  StreamRequestCallback,
} from 'homebridge';
import type { CameraSound } from './camera-sound.js';
import { ExposureSensor, type ExposureState } from './exposure-sensor.js';
import type { PrefixedLog } from './log.js';
import type { AudioTarget, MediaBackend, PreparedStream } from './media-backend.js';
import { fetchSnapshot, grabFrame, type SnapshotSource } from './snapshot.js';
import { StreamSnapshots } from './stream-snapshot.js';

// HAP-NodeJS ships these as `const enum`s, which `verbatimModuleSyntax` cannot read: their values
// (HAP-NodeJS RTPStreamManagement.ts), identical in hap-nodejs 0.14 (Homebridge 1.11) and 2.x.
/** SRTPCryptoSuites.AES_CM_128_HMAC_SHA1_80 */
const SRTP_AES_CM_128_HMAC_SHA1_80 = 0;
/** SRTPCryptoSuites.NONE: the controller asked for plain RTP. */
const SRTP_NONE = 2;
/** H264Profile BASELINE, MAIN, HIGH */
const H264_PROFILES = [0, 1, 2];
/** H264Level LEVEL3_1, LEVEL3_2, LEVEL4_0 */
const H264_LEVELS = [0, 1, 2];
/** AudioStreamingCodecType.OPUS */
const OPUS = 'OPUS';
/**
 * AudioStreamingSamplerate KHZ_16, KHZ_24: what iOS asks Opus for. AAC-ELD, HomeKit's other codec, needs
 * libfdk-aac, which Debian's FFmpeg does not ship: it is not advertised.
 */
const OPUS_SAMPLE_RATES_KHZ = [16, 24];
/** StreamRequestTypes */
const START = 'start';
const RECONFIGURE = 'reconfigure';
const STOP = 'stop';

interface Session {
  prepared: PreparedStream;
  target: { address: string; ipv6: boolean; port: number };
  /** HomeKit's audio port and the key it sends its voice with (PrepareStreamRequest.audio). */
  audio: { port: number; srtp?: { key: Buffer; salt: Buffer } } | undefined;
  started: boolean;
}

export class CameraAccessory implements CameraStreamingDelegate {
  readonly accessory: PlatformAccessory;
  readonly controller: CameraController;
  readonly sensor: ExposureSensor;
  readonly snapshotSource: SnapshotSource;
  readonly #camera: CameraConfig;
  readonly #backend: MediaBackend;
  readonly #log: PrefixedLog;
  readonly #sessions = new Map<string, Session>();
  readonly #snapshots: StreamSnapshots;
  readonly #sound: CameraSound;

  constructor(
    api: API,
    accessory: PlatformAccessory,
    camera: CameraConfig,
    backend: MediaBackend,
    log: PrefixedLog,
    opts: { ffmpeg: boolean; snapshotCacheMs: number; sound: CameraSound },
  ) {
    this.accessory = accessory;
    this.#sound = opts.sound;
    this.#camera = camera;
    this.#backend = backend;
    this.#log = log;
    this.snapshotSource = camera.snapshotUrl ? 'snapshot-url' : opts.ffmpeg ? 'ffmpeg' : 'none';
    // The same URI string the warm player and the streams use: the engine keys its pulls (and caches) by it.
    const uri = cameraUriWithCredentials(camera);
    this.#snapshots = new StreamSnapshots({
      keyframe: () => backend.latestKeyframe(uri),
      fallback: (width) => grabFrame(uri, width),
      ttlMs: opts.snapshotCacheMs,
      log,
    });
    const hap = api.hap;
    accessory
      .getService(hap.Service.AccessoryInformation)!
      .setCharacteristic(hap.Characteristic.Manufacturer, 'camgate')
      .setCharacteristic(hap.Characteristic.Model, 'RTSP camera')
      .setCharacteristic(hap.Characteristic.SerialNumber, camera.id);
    this.controller = new hap.CameraController({
      cameraStreamCount: 2, // Home asks for two streams at most (iPhone + Watch)
      delegate: this,
      streamingOptions: {
        supportedCryptoSuites: [SRTP_AES_CM_128_HMAC_SHA1_80, SRTP_NONE],
        video: {
          // The backend forwards the camera's H.264 as is: these are what Home may ask for, not what it gets.
          resolutions: [
            [1920, 1080, 30],
            [1280, 720, 30],
            [640, 360, 30],
            [480, 270, 30],
            [320, 240, 15], // Apple Watch requires this configuration
            [320, 180, 30],
          ],
          codec: {
            profiles: H264_PROFILES,
            levels: H264_LEVELS,
          },
        },
        // The camera's sound as Opus (the engine transcodes it once per camera); without it HomeKit streams
        // video only (HAP-NodeJS: no audio options = videoOnly).
        ...(opts.sound.audio
          ? {
              audio: {
                codecs: [{ type: OPUS, samplerate: OPUS_SAMPLE_RATES_KHZ, audioChannels: 1 }],
                twoWayAudio: opts.sound.talkBack,
              },
            }
          : {}),
      },
    });
    accessory.configureController(this.controller);
    this.sensor = new ExposureSensor(api, accessory, `${camera.name} exposure`);
  }

  updateExposure(state: ExposureState): void {
    this.sensor.update(state);
  }

  handleSnapshotRequest(request: SnapshotRequest, callback: SnapshotRequestCallback): void {
    const take =
      this.snapshotSource === 'snapshot-url'
        ? fetchSnapshot(this.#camera.snapshotUrl!)
        : this.snapshotSource === 'ffmpeg'
          ? this.#snapshots.take(request.width)
          : Promise.reject(new Error('no snapshot URL and no FFmpeg'));
    take.then(
      (jpeg) => callback(undefined, jpeg),
      (err: unknown) => {
        this.#log.warn(`snapshot failed: ${(err as Error).message}`);
        callback(err as Error);
      },
    );
  }

  prepareStream(request: PrepareStreamRequest, callback: PrepareStreamCallback): void {
    const v = request.video;
    const srtp = v.srtpCryptoSuite === SRTP_NONE ? undefined : { key: v.srtp_key, salt: v.srtp_salt };
    this.#backend.prepare(cameraUriWithCredentials(this.#camera), srtp, { talkBack: this.#sound.talkBack }).then(
      (prepared) => {
        const a = request.audio;
        this.#sessions.set(request.sessionID, {
          prepared,
          target: { address: request.targetAddress, ipv6: request.addressVersion === 'ipv6', port: v.port },
          audio: this.#sound.audio
            ? {
                port: a.port,
                ...(a.srtpCryptoSuite === SRTP_NONE ? {} : { srtp: { key: a.srtp_key, salt: a.srtp_salt } }),
              }
            : undefined,
          started: false,
        });
        this.#log.debug(`stream ${request.sessionID} prepared for ${request.targetAddress}:${v.port}`);
        callback(undefined, {
          video: {
            port: prepared.localPort,
            ssrc: prepared.ssrc,
            // The accessory sends with the key the controller chose, as HAP allows (echoed back).
            ...(srtp ? { srtp_key: srtp.key, srtp_salt: srtp.salt } : {}),
          },
          // The backend's RtpEndpoint has one SDES key for both sections: audio goes out under the video's
          // key (its own SSRC keeps the keystreams apart, RFC 3711 §9.1). A backend that offered no audio
          // still answers a port, where nothing is sent.
          ...(this.#sound.audio
            ? {
                audio: {
                  port: prepared.audioPort || prepared.localPort,
                  ssrc: prepared.audioSsrc || (prepared.ssrc ^ 1) >>> 0,
                  ...(srtp ? { srtp_key: srtp.key, srtp_salt: srtp.salt } : {}),
                },
              }
            : {}),
        });
      },
      (err: unknown) => {
        this.#log.error(`could not prepare a stream: ${(err as Error).message}`);
        callback(err as Error);
      },
    );
  }

  handleStreamRequest(request: StreamingRequest, callback: StreamRequestCallback): void {
    const session = this.#sessions.get(request.sessionID);
    if ((request.type as string) === STOP) {
      this.#sessions.delete(request.sessionID);
      void (session?.prepared.stop() ?? Promise.resolve()).finally(() => {
        const left = [...this.#sessions.values()].filter((s) => s.started).length;
        this.#log.info(
          `stream ${request.sessionID} stopped; ${left === 0 ? 'camera no longer watched' : `still watched by ${left} stream(s)`}`,
        );
        callback();
      });
      return;
    }
    if (!session) {
      callback(new Error('unknown stream session'));
      return;
    }
    if ((request.type as string) === RECONFIGURE) {
      // No transcoding: the camera's stream goes out as it is.
      const rv = (request as ReconfigureStreamRequest).video;
      this.#log.debug(`reconfigure to ${rv.width}x${rv.height} ignored (no transcoding)`);
      callback();
      return;
    }
    if ((request.type as string) !== START) {
      callback(new Error('unknown stream request'));
      return;
    }
    const { video: v, audio: a } = request as StartStreamRequest;
    const audio = this.#audioTarget(session, a);
    session.prepared
      .start({ ...session.target, payloadType: v.pt, mtu: v.mtu, ...(audio ? { audio } : {}) })
      .then(() => {
        session.started = true;
        // Info, not debug: who watches a camera, and when, is what a camera owner looks for in the log.
        const sound = audio
          ? `; sound: Opus ${audio.sampleRate / 1000} kHz, ${audio.packetTimeMs} ms packets${audio.talk ? ', talk-back on' : ''}`
          : '';
        this.#log.info(
          `camera is being watched: streaming to ${session.target.address}:${session.target.port} (asked ${v.width}x${v.height}@${v.fps}, sent as the camera encodes)${sound}`,
        );
        callback();
      })
      .catch((err: unknown) => {
        this.#log.error(`could not start the stream: ${(err as Error).message}`);
        this.#sessions.delete(request.sessionID);
        void session.prepared.stop();
        callback(err as Error);
      });
  }

  /** What the engine sends HomeKit's audio as, or undefined: sound off, or a codec other than Opus. */
  #audioTarget(session: Session, a: StartStreamRequest['audio'] | undefined): AudioTarget | undefined {
    if (!session.audio || !a || session.prepared.audioPort === 0) return undefined;
    if ((a.codec as string) !== OPUS) {
      this.#log.warn(`HomeKit asked for ${String(a.codec).slice(0, 16)} audio; only Opus is offered: video only`);
      return undefined;
    }
    return {
      port: session.audio.port,
      payloadType: a.pt,
      sampleRate: (a.sample_rate as number) * 1000,
      packetTimeMs: a.packet_time,
      maxBitrateKbps: a.max_bit_rate,
      ...(session.audio.srtp ? { srtp: session.audio.srtp } : {}),
      talk: this.#sound.talkBack,
    };
  }

  /** Stops every stream of this camera. */
  async stopAll(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.prepared.stop()));
  }
}
