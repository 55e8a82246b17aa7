/**
 * The `Camgate` dynamic platform: one camera accessory per configured camera
 * (UUIDs from the camera ids, so renames keep the Home tile) and a home-wide
 * exposure sensor, cached accessories restored, removed cameras
 * unregistered, bad entries logged and skipped. Its own services, with or
 * without a hub: keep-warm (cameras pulled by the built-in engine, so streams
 * and snapshots start from its cache) and a flag service (LAN audit, flags the
 * hub forwards to this gateway) that drives the sensors directly; MQTT is an
 * optional extra feed.
 */
import { join } from 'node:path';
import {
  CameraRegistry,
  CameraWarmer,
  FlagService,
  Gateway,
  SecretSet,
  createLogger,
  type GatewayCameraState,
} from '@camgate/core';
import type { API, DynamicPlatformPlugin, Logging, PlatformAccessory, PlatformConfig } from 'homebridge';
import { CameraAccessory } from './camera-accessory.js';
import { DEFAULT_CAMERA_SOUND, type CameraSound } from './camera-sound.js';
import { gatewayKeepWarm, readSettings, type PluginSettings } from './config.js';
import { exposureOf, homeExposureOf, type ExposureSensor } from './exposure-sensor.js';
import { MqttFlagFeed } from './flag-feed.js';
import { CATEGORY_SENSOR, HOME_SENSOR_NAME, homeSensorAccessory } from './home-sensor.js';
import { homebridgeSink, prefixed, type PrefixedLog } from './log.js';
import { MediaBackend } from './media-backend.js';
import {
  FLAG_STORE_FILE,
  LOCAL_GATEWAY_ID,
  PLATFORM_NAME,
  PLUGIN_NAME,
  UUID_HOME_SENSOR,
  UUID_NAMESPACE,
} from './settings.js';
import { findFfmpeg } from './snapshot.js';

/** HAP Categories.CAMERA (a `const enum` in HAP-NodeJS Accessory.ts). */
const CATEGORY_CAMERA = 17;
/** Wait before the warm players try a media backend again (core's DEFAULT_GATEWAY_OPTIONS.keepWarmRetryMs). */
const KEEP_WARM_RETRY_MS = 5_000;

export class CamgatePlatform implements DynamicPlatformPlugin {
  readonly #log: PrefixedLog;
  readonly #hbLog: Logging;
  readonly #api: API;
  readonly #settings: PluginSettings;
  readonly #secrets = new SecretSet();
  readonly #cached = new Map<string, PlatformAccessory>();
  readonly #cameras = new Map<string, CameraAccessory>();
  #toldKmsSound = false;
  readonly #backend: MediaBackend;
  readonly #cameraStates = new Map<string, string>();
  #homeSensor: ExposureSensor | undefined;
  #flags: FlagService | undefined;
  #feed: MqttFlagFeed | undefined;
  #gateway: Gateway | undefined;
  #warmer: CameraWarmer | undefined;
  #shuttingDown = false;

  constructor(log: Logging, config: PlatformConfig, api: API) {
    this.#hbLog = log;
    this.#log = prefixed(log);
    this.#api = api;
    const s = readSettings(config);
    for (const p of s.problems) this.#log.error(`config: ${p} (skipped)`);
    for (const w of s.warnings) this.#log.warn(`config: ${w}`);
    this.#settings = s;
    for (const c of s.cameras) this.#secrets.add(c.password);
    this.#secrets.add(s.exposure.mqttPassword);
    this.#secrets.add(s.hub?.secret);
    this.#backend = new MediaBackend({
      ...(s.media.kurentoUrl ? { kurentoUrl: s.media.kurentoUrl } : {}),
      ...(s.media.interfaceAddress ? { interfaceAddress: s.media.interfaceAddress } : {}),
      log: this.#log,
      secrets: this.#secrets,
    });
    api.on('didFinishLaunching', () => {
      this.#launch().catch((err: unknown) => this.#log.error(`start failed: ${(err as Error).message}`));
    });
    api.on('shutdown', () => {
      void this.#shutdown();
    });
  }

  /** Homebridge hands back each cached accessory before didFinishLaunching. */
  configureAccessory(accessory: PlatformAccessory): void {
    this.#cached.set(accessory.UUID, accessory);
  }

  async #launch(): Promise<void> {
    const hap = this.#api.hap;
    const ffmpeg = findFfmpeg() !== null;
    const { snapshotCacheMs } = this.#settings;
    this.#log.info(`media backend: ${this.#backend.kind}; ${this.#settings.cameras.length} camera(s)`);
    const keep = new Set<string>();
    for (const cam of this.#settings.cameras) {
      const uuid = hap.uuid.generate(UUID_NAMESPACE + cam.id);
      keep.add(uuid);
      const camLog = prefixed(this.#hbLog, cam.name);
      try {
        // A cached accessory keeps its services (and the user's room and name); the controller re-attaches
        // to the cached RTP stream services (HAP-NodeJS CameraController restores from existing services).
        const accessory = this.#accessory(cam.name, uuid, CATEGORY_CAMERA);
        accessory.context.cameraId = cam.id;
        const camera = new CameraAccessory(this.#api, accessory, cam, this.#backend, camLog, {
          ffmpeg,
          snapshotCacheMs,
          sound: this.#soundOf(cam.id),
        });
        this.#cameras.set(cam.id, camera);
        this.#register(accessory);
        camLog.info(`${this.#cached.has(uuid) ? 'restored' : 'added'}; snapshots from ${this.#snapshotSource(camera)}`);
      } catch (err) {
        camLog.error(`skipped: ${(err as Error).message}`);
      }
    }
    const homeUuid = hap.uuid.generate(UUID_HOME_SENSOR);
    keep.add(homeUuid);
    const home = this.#accessory(HOME_SENSOR_NAME, homeUuid, CATEGORY_SENSOR);
    this.#homeSensor = homeSensorAccessory(this.#api, home);
    this.#register(home);
    const stale = [...this.#cached.values()].filter((a) => !keep.has(a.UUID));
    if (stale.length > 0) {
      this.#api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
      this.#log.info(`removed ${stale.length} camera(s) no longer configured`);
    }
    this.#cached.clear();
    // Independent: sensors without a media backend, streams without a flag store, each better than nothing.
    await this.#startFlags().catch((err: unknown) => this.#log.error(`flags: ${(err as Error).message}`));
    await this.#startMedia();
  }

  /**
   * A camera's sound options as the backend can serve them. Kurento Media Server negotiates Opus only as
   * `opus/48000/2` and sends on the 48 kHz clock, which Apple devices play choppy (they expect the selected
   * sample rate's clock), and has no talk-back: with it the tiles are video-only (README, Sound).
   */
  #soundOf(cameraId: string): CameraSound {
    const sound = this.#settings.sound[cameraId] ?? DEFAULT_CAMERA_SOUND;
    if (!this.#settings.media.kurentoUrl || !sound.audio) return sound;
    if (!this.#toldKmsSound) {
      this.#toldKmsSound = true;
      this.#log.info(
        'media: sound in Apple Home needs the built-in engine; with Kurento Media Server tiles are video-only',
      );
    }
    return { audio: false, talkBack: false };
  }

  #accessory(name: string, uuid: string, category: number): PlatformAccessory {
    return this.#cached.get(uuid) ?? new this.#api.platformAccessory(name, uuid, category);
  }

  #register(accessory: PlatformAccessory): void {
    if (this.#cached.has(accessory.UUID)) this.#api.updatePlatformAccessories([accessory]);
    else this.#api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, [accessory]);
  }

  #snapshotSource(camera: CameraAccessory): string {
    if (camera.snapshotSource === 'snapshot-url') return 'the snapshot URL';
    if (camera.snapshotSource === 'none') return 'nowhere (no snapshot URL, FFmpeg not installed)';
    return this.#backend.kind === 'built-in engine'
      ? "FFmpeg decoding the engine's cached keyframe (no new RTSP session)"
      : 'FFmpeg (one frame from RTSP: Kurento Media Server keeps no frame to reuse)';
  }

  /**
   * The flag service of this plugin's own gateway: the LAN audit and (with a hub) the flags the hub forwards
   * feed one store, which every sensor reads. MQTT, when configured, feeds the same store.
   */
  async #startFlags(): Promise<void> {
    const logger = createLogger('flags', homebridgeSink(this.#log), this.#secrets);
    const flags = await FlagService.create({
      gatewayId: this.#settings.hub?.gatewayId ?? LOCAL_GATEWAY_ID,
      cameras: this.#settings.cameras,
      flagsFile: join(this.#api.user.storagePath(), FLAG_STORE_FILE),
      audit: this.#settings.audit,
      // The LAN canary (`camgate canary --report PATH`) reports on this socket; a scanning camera gets a
      // `compromise` flag in the store the sensors read.
      ...(this.#settings.exposure.canary ? { compromise: { canarySocket: this.#settings.exposure.canary } } : {}),
      logger,
    });
    this.#flags = flags;
    const refresh = (): void => {
      const list = flags.store.list();
      for (const [id, cam] of this.#cameras) cam.updateExposure(exposureOf(list, id));
      this.#homeSensor?.update(homeExposureOf(list));
    };
    flags.on('transition', (t) => {
      this.#log.warn(`flag ${t.flag.kind} on ${t.flag.cameraId ?? 'the home network'}: ${t.from} → ${t.to}`);
      refresh();
    });
    refresh();
    flags.start();
    const e = this.#settings.exposure;
    if (e.mqttUrl) this.#feed = new MqttFlagFeed({ ...e, mqttUrl: e.mqttUrl }, flags.store, this.#log);
  }

  /** The hub gateway (which keeps the cameras warm itself), or keep-warm alone when there is no hub. */
  async #startMedia(): Promise<void> {
    const backendUrl = await this.#backend.url();
    const hub = this.#settings.hub;
    const keepWarm = gatewayKeepWarm(this.#settings.keepWarm);
    const logger = createLogger('gateway', homebridgeSink(this.#log), this.#secrets);
    if (!hub) {
      this.#warmer = new CameraWarmer({
        backendUrl,
        cameras: new CameraRegistry(this.#settings.cameras),
        mode: keepWarm === 'auto' ? 'auto' : 'never',
        retryMs: KEEP_WARM_RETRY_MS,
        logger: logger.child('warm'),
        onCameraState: (st) => this.#logCameraState(st),
      });
      this.#warmer.start();
      return;
    }
    const gateway = new Gateway({
      hub: {
        url: hub.url,
        gatewayId: hub.gatewayId,
        secret: hub.secret,
        ...(hub.fingerprint256 ? { tls: { fingerprint256: hub.fingerprint256 } } : {}),
      },
      mediaBackendUrl: backendUrl,
      cameras: this.#settings.cameras,
      keepWarm,
      allowLanViewers: hub.allowLanViewers,
      logger,
    });
    this.#gateway = gateway;
    gateway.on('state', (state, info) => this.#log.info(`hub: ${state}${info.reason ? ` (${info.reason})` : ''}`));
    gateway.on('cameraState', (st) => this.#logCameraState(st));
    // Flags the hub's outside monitor raises for this gateway go straight into the sensors' store
    // (FlagService.applyControl validates them); 4409 raises `secret-in-use` there too (TakeoverWatch).
    gateway.on('control', (msg) => void this.#flags?.applyControl(msg));
    this.#flags?.watchTunnel(gateway);
    gateway.start();
  }

  /**
   * A camera's state, as its warm player reports it, on a `[camera name]` line:
   * unreachable is a warning (someone should look at the camera), lost-and-reconnecting too while it
   * lasts; live is information; connecting and idle (keepWarm off: not pulled unless watched) are debug.
   */
  #logCameraState(st: GatewayCameraState): void {
    const key = `${st.state}|${st.reason ?? ''}|${st.notice?.message ?? ''}`;
    if (this.#cameraStates.get(st.cameraId) === key) return;
    this.#cameraStates.set(st.cameraId, key);
    const name = this.#settings.cameras.find((c) => c.id === st.cameraId)?.name ?? st.cameraId;
    const log = prefixed(this.#hbLog, name);
    const notice = st.notice ? ` — ${st.notice.message}` : '';
    switch (st.state) {
      case 'live':
        return log.info(`camera live${notice}`);
      case 'reconnecting':
        return log.warn(`camera lost — reconnecting${st.reason ? ` (${st.reason})` : ''}`);
      case 'unreachable':
        return log.warn(`camera unreachable: ${st.reason ?? 'unknown reason'}`);
      case 'connecting':
        return log.debug('camera connecting');
      default:
        return log.debug('camera idle (pulled only while someone watches)');
    }
  }

  async #shutdown(): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    const steps: [string, () => Promise<void> | undefined][] = [
      ['streams', () => Promise.all([...this.#cameras.values()].map((c) => c.stopAll())).then(() => undefined)],
      ['warm players', () => this.#warmer?.close()],
      ['gateway', () => this.#gateway?.close()],
      ['flag feed', () => this.#feed?.close()],
      ['flag service', () => this.#flags?.close()],
      ['media backend', () => this.#backend.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.#log.debug(`shutdown: ${name}: ${(err as Error).message}`);
      }
    }
  }
}
