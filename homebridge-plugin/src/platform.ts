/**
 * The `Camgate` dynamic platform: one camera accessory per configured camera
 * (UUIDs from the camera ids, so renames keep the Home tile), cached
 * accessories restored, removed cameras unregistered, bad entries logged and
 * skipped. Optional: flags from MQTT, a camgate gateway dialling out to a hub.
 */
import { join } from 'node:path';
import {
  CompromiseWatch,
  FlagStore,
  Gateway,
  SecretSet,
  TakeoverWatch,
  createLogger,
  type GatewayCameraState,
} from '@camgate/core';
import type { API, DynamicPlatformPlugin, Logging, PlatformAccessory, PlatformConfig } from 'homebridge';
import { CameraAccessory } from './camera-accessory.js';
import { gatewayKeepWarm, readSettings, type PluginSettings } from './config.js';
import { exposureOf } from './exposure-sensor.js';
import { MqttFlagFeed } from './flag-feed.js';
import { homebridgeSink, prefixed, type PrefixedLog } from './log.js';
import { MediaBackend } from './media-backend.js';
import { FLAG_STORE_FILE, PLATFORM_NAME, PLUGIN_NAME, UUID_NAMESPACE } from './settings.js';
import { findFfmpeg } from './snapshot.js';

/** HAP Categories.CAMERA (a `const enum` in HAP-NodeJS Accessory.ts). */
const CATEGORY_CAMERA = 17;

export class CamgatePlatform implements DynamicPlatformPlugin {
  readonly #log: PrefixedLog;
  readonly #hbLog: Logging;
  readonly #api: API;
  readonly #settings: PluginSettings;
  readonly #secrets = new SecretSet();
  readonly #cached = new Map<string, PlatformAccessory>();
  readonly #cameras = new Map<string, CameraAccessory>();
  readonly #backend: MediaBackend;
  #store: FlagStore | undefined;
  #compromise: CompromiseWatch | undefined;
  #feed: MqttFlagFeed | undefined;
  #gateway: Gateway | undefined;
  #takeover: TakeoverWatch | undefined;
  #shuttingDown = false;

  constructor(log: Logging, config: PlatformConfig, api: API) {
    this.#hbLog = log;
    this.#log = prefixed(log);
    this.#api = api;
    const s = readSettings(config);
    for (const p of s.problems) this.#log.error(`config: ${p} (skipped)`);
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
    this.#log.info(`media backend: ${this.#backend.kind}; ${this.#settings.cameras.length} camera(s)`);
    const keep = new Set<string>();
    for (const cam of this.#settings.cameras) {
      const uuid = hap.uuid.generate(UUID_NAMESPACE + cam.id);
      keep.add(uuid);
      const camLog = prefixed(this.#hbLog, cam.name);
      try {
        // A cached accessory keeps its services (and the user's room and name); the controller re-attaches
        // to the cached RTP stream services (HAP-NodeJS CameraController restores from existing services).
        const cached = this.#cached.get(uuid);
        const accessory = cached ?? new this.#api.platformAccessory(cam.name, uuid, CATEGORY_CAMERA);
        accessory.context.cameraId = cam.id;
        const camera = new CameraAccessory(this.#api, accessory, cam, this.#backend, camLog, ffmpeg);
        this.#cameras.set(cam.id, camera);
        if (cached) this.#api.updatePlatformAccessories([accessory]);
        else this.#api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, [accessory]);
        camLog.info(
          `${cached ? 'restored' : 'added'}; snapshots from ${camera.snapshotSource === 'snapshot-url' ? 'the snapshot URL' : camera.snapshotSource === 'ffmpeg' ? 'FFmpeg (one frame from RTSP)' : 'nowhere (no snapshot URL, FFmpeg not installed)'}`,
        );
      } catch (err) {
        camLog.error(`skipped: ${(err as Error).message}`);
      }
    }
    const stale = [...this.#cached.values()].filter((a) => !keep.has(a.UUID));
    if (stale.length > 0) {
      this.#api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
      this.#log.info(`removed ${stale.length} camera(s) no longer configured`);
    }
    this.#cached.clear();
    await this.#startFlags();
    await this.#startGateway();
  }

  async #startFlags(): Promise<void> {
    const path = join(this.#api.user.storagePath(), FLAG_STORE_FILE);
    const logger = createLogger('flags', homebridgeSink(this.#log), this.#secrets);
    const store = await FlagStore.open({ path, logger });
    this.#store = store;
    const refresh = (): void => {
      const flags = store.list();
      for (const [id, cam] of this.#cameras) cam.updateExposure(exposureOf(flags, id));
    };
    store.on('transition', (t) => {
      this.#log.warn(`flag ${t.flag.kind} on ${t.flag.cameraId ?? 'the network'}: ${t.from} → ${t.to}`);
      refresh();
    });
    refresh();
    const e = this.#settings.exposure;
    if (e.mqttUrl) this.#feed = new MqttFlagFeed({ ...e, mqttUrl: e.mqttUrl }, store, this.#log);
    // The LAN canary reports here; a scanning camera gets a `compromise` flag in the store the sensors read.
    if (e.canary) {
      try {
        this.#compromise = await CompromiseWatch.start({
          gatewayId: this.#settings.hub?.gatewayId ?? 'homebridge',
          cameras: this.#settings.cameras.map((c) => ({
            id: c.id,
            name: c.name,
            host: new URL(c.url).hostname.replace(/^\[|\]$/g, ''),
          })),
          store,
          canarySocket: e.canary,
          logger: logger.child('compromise'),
        });
      } catch (err) {
        this.#log.error(`canary socket ${e.canary}: ${(err as Error).message}`);
      }
    }
  }

  async #startGateway(): Promise<void> {
    const hub = this.#settings.hub;
    if (!hub) return;
    const mediaBackendUrl = await this.#backend.url();
    const logger = createLogger('gateway', homebridgeSink(this.#log), this.#secrets);
    this.#gateway = Gateway.start({
      hub: {
        url: hub.url,
        gatewayId: hub.gatewayId,
        secret: hub.secret,
        ...(hub.fingerprint256 ? { tls: { fingerprint256: hub.fingerprint256 } } : {}),
      },
      mediaBackendUrl,
      cameras: this.#settings.cameras,
      keepWarm: gatewayKeepWarm(hub),
      logger,
    });
    this.#gateway.on('state', (state, info) =>
      this.#log.info(`hub: ${state}${info.reason ? ` (${info.reason})` : ''}`),
    );
    // 4409 (another client took over with this gateway's secret) raises `secret-in-use` in the same store
    // the camera sensors read, so it shows in Apple Home (exposure-sensor.ts: every camera is tampered).
    if (this.#store) {
      this.#takeover = new TakeoverWatch({
        gatewayId: hub.gatewayId,
        store: this.#store,
        tunnel: this.#gateway,
        logger: logger.child('takeover'),
      });
    }
    this.#gateway.on('cameraState', (st) => this.#logCameraState(st));
  }

  /**
   * A camera's state, as the gateway learns it from its warm players, on a `[camera name]` line:
   * unreachable is a warning (someone should look at the camera), lost-and-reconnecting too while it
   * lasts; live is information; connecting and idle (keepWarm off: not pulled unless watched) are debug.
   */
  #logCameraState(st: GatewayCameraState): void {
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
      ['takeover watch', () => void this.#takeover?.close()],
      ['gateway', () => this.#gateway?.close()],
      ['flag feed', () => this.#feed?.close()],
      ['canary socket', () => this.#compromise?.close()],
      ['flag store', () => this.#store?.close()],
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
