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
import { ExposureSensor, type ExposureState } from './exposure-sensor.js';
import type { PrefixedLog } from './log.js';
import type { MediaBackend, PreparedStream } from './media-backend.js';
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
/** StreamRequestTypes */
const START = 'start';
const RECONFIGURE = 'reconfigure';
const STOP = 'stop';

interface Session {
  prepared: PreparedStream;
  target: { address: string; ipv6: boolean; port: number };
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

  constructor(
    api: API,
    accessory: PlatformAccessory,
    camera: CameraConfig,
    backend: MediaBackend,
    log: PrefixedLog,
    opts: { ffmpeg: boolean; snapshotCacheMs: number },
  ) {
    this.accessory = accessory;
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
    this.#backend.prepare(cameraUriWithCredentials(this.#camera), srtp).then(
      (prepared) => {
        this.#sessions.set(request.sessionID, {
          prepared,
          target: { address: request.targetAddress, ipv6: request.addressVersion === 'ipv6', port: v.port },
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
    const v = (request as StartStreamRequest).video;
    session.prepared
      .start({ ...session.target, payloadType: v.pt, mtu: v.mtu })
      .then(() => {
        session.started = true;
        // Info, not debug: who watches a camera, and when, is what a camera owner looks for in the log.
        this.#log.info(
          `camera is being watched: streaming to ${session.target.address}:${session.target.port} (asked ${v.width}x${v.height}@${v.fps}, sent as the camera encodes)`,
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

  /** Stops every stream of this camera. */
  async stopAll(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.prepared.stop()));
  }
}
