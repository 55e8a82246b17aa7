'use strict';
const { EventEmitter } = require('node:events');
const fs = require('node:fs/promises');
const { isIP } = require('node:net');
const path = require('node:path');
const { loadCore } = require('./core.js');
const { ID_RE } = require('./validate.js');

/** Tunnel states the gateway reports, plus the runtime's own (before the tunnel exists). */
const STATES = [
  'idle',
  'starting',
  'unconfigured',
  'failed',
  'connecting',
  'connected',
  'reconnecting',
  'refused',
  'closed',
];

/**
 * One running camgate gateway inside Node-RED: the flag store, the built-in
 * engine when chosen, and the Gateway dialling out. The config node owns one;
 * the nodes that use it listen to its events.
 *
 * Events: `status` (state, info) · `event` (payload of camgate-events) ·
 * `transition` (FlagTransition from the store) · `cameraState` ({ cameraId, state, reason?, notice? }).
 */
class GatewayRuntime extends EventEmitter {
  /**
   * @param {object} o
   * @param {string | undefined} o.hubUrl  checked by core's config schema
   * @param {string} o.gatewayId
   * @param {string|undefined} o.secret
   * @param {string|undefined} o.fingerprint256
   * @param {boolean} o.allowInsecure
   * @param {'engine'|'kms'} o.backend
   * @param {string|undefined} o.kmsUrl
   * @param {string|undefined} o.mediaAddress  IPv4 address the built-in engine gathers WebRTC host candidates on
   *   (its `interfaceAddress`); undefined = every interface werift picks
   * @param {() => import('./types').CameraEntry[]} o.cameras  resolves {id, name, url, host, ports, username, password} once every
   *   config node of the flow exists (Node-RED orders config nodes only by single-id properties)
   * @param {boolean|undefined} o.keepWarm  false: pull a camera only while someone watches; otherwise the
   *   gateway's 'auto' (each camera kept pulled when the backend is the built-in engine, see core's keep-warm.ts)
   * @param {boolean|undefined} o.allowLanViewers  accept viewers' loopback/private/link-local ICE candidates and SDP
   *   addresses (core's gateway option; off by default)
   * @param {string|undefined} o.flagFile  JSONL file of the flag store; undefined = memory only
   * @param {string|undefined} o.canary  Unix socket where `camgate canary --report` delivers what the LAN canary saw
   *   (core's `compromise.canarySocket`); undefined = off
   * @param {string|undefined} [o.ssdpAddress]  where the exposure responder sends its UPnP M-SEARCH (core's
   *   `UpnpOptions.ssdpAddress`); undefined = the SSDP multicast group
   * @param {number|undefined} [o.ssdpPort]  SSDP port (core's `UpnpOptions.ssdpPort`); undefined = 1900
   * @param {number|undefined} [o.ipv6IntervalS]  seconds between readings of the neighbour table for the cameras'
   *   global IPv6 addresses (core's `ipv6IntervalMs` / 1000); undefined = core's default (5 min)
   * @param {(level: string, msg: string) => void} o.log  Node-RED's node.log/warn/error
   */
  constructor(o) {
    super();
    this.o = o;
    this.gatewayId = o.gatewayId;
    this.state = 'idle';
    /** @type {Record<string, unknown>} */
    this.info = {};
    /**
     * Cameras without credentials or addresses: what the other nodes may show.
     * @type {{ id: string, name: string }[]}
     */
    this.cameras = [];
    /** Each camera's latest state (core Gateway `cameraState`), by camera id. */
    /** @type {Map<string, import('./types').CameraState>} */
    this.cameraStates = new Map();
    /** @type {import('./types').CameraEntry[]} */
    this.cameraConfigs = [];
    this.store = undefined;
    this.flags = undefined;
    this.hubFlags = undefined;
    this.gateway = undefined;
    this.engine = undefined;
    this.closing = false;
    this.ready = this.#start();
  }

  /** Cameras as the LAN audit needs them (addresses, never credentials). */
  auditCameras() {
    return this.cameraConfigs.map((c) => {
      const u = safeUrl(c.url);
      const host = c.host || (u ? u.hostname.replace(/^\[|\]$/g, '') : '');
      /** @type {{ id: string, name: string, host: string, rtsp?: { port: number, path: string } }} */
      const out = { id: c.id, name: c.name, host };
      if (u) out.rtsp = { port: u.port ? Number(u.port) : 554, path: u.pathname || '/' };
      return out;
    });
  }

  /**
   * @param {string} state
   * @param {Record<string, unknown>} [info]
   */
  #setState(state, info = {}) {
    this.state = state;
    this.info = info;
    this.emit('status', state, info);
  }

  async #start() {
    const core = await loadCore();
    this.cameraConfigs = this.o.cameras();
    this.cameras = this.cameraConfigs.map((c) => ({ id: c.id, name: c.name }));
    const secrets = new core.SecretSet();
    secrets.add(this.o.secret);
    for (const c of this.cameraConfigs) secrets.add(c.password);
    const log = this.o.log;
    const logger = core.createLogger(
      'camgate',
      (/** @type {{ level: string, component: string, msg: string, fields: object }} */ r) => {
        const fields = Object.keys(r.fields).length ? ` ${JSON.stringify(r.fields)}` : '';
        log(r.level, `${r.component}: ${r.msg}${fields}`);
      },
      secrets,
    );
    this.logger = logger;
    try {
      if (this.o.flagFile) await fs.mkdir(path.dirname(this.o.flagFile), { recursive: true });
      // FlagService owns the store and accepts the hub's flags (control messages) with its checks; the
      // nodes run the LAN audit themselves (camgate-exposure), so the service's own audit stays off.
      this.flags = await core.FlagService.create({
        gatewayId: this.o.gatewayId,
        // Only the canary needs the cameras here (a source address becomes a camera's name); names and URLs only.
        cameras: this.o.canary
          ? this.cameraConfigs
              .filter((c) => safeUrl(c.url))
              .map(({ id, name, url, host }) => ({ id, name, url, ...(host ? { host } : {}) }))
          : [],
        audit: false,
        ...(this.o.flagFile ? { flagsFile: this.o.flagFile } : {}),
        ...(this.o.canary ? { compromise: { canarySocket: this.o.canary } } : {}),
        logger: logger.child('flags'),
      });
      this.store = this.flags.store;
      this.store.on('transition', (/** @type {unknown} */ t) => this.emit('transition', t));
    } catch (err) {
      this.#setState('failed', { reason: core.redact(errorMessage(err), secrets.values()) });
      return;
    }
    if (this.closing) return;
    if (!this.o.secret) {
      this.#setState('unconfigured', { reason: 'gateway secret is not set' });
      logger.warn('not dialling the hub: the gateway secret is not set (credentials are not part of exported flows)');
      return;
    }
    let config;
    try {
      config = core.validateConfig(
        core.gatewayConfigSchema,
        {
          hub: {
            url: this.o.hubUrl,
            gatewayId: this.o.gatewayId,
            secret: this.o.secret,
            ...(this.o.fingerprint256 ? { tls: { fingerprint256: this.o.fingerprint256 } } : {}),
            ...(this.o.allowInsecure ? { allowInsecure: true } : {}),
          },
          mediaBackend: { url: this.o.backend === 'kms' ? this.o.kmsUrl : 'ws://127.0.0.1:8888/kurento' },
          cameras: this.cameraConfigs.map(toCameraConfig),
          ...(this.o.allowLanViewers ? { allowLanViewers: true } : {}),
        },
        'camgate-gateway',
      );
    } catch (err) {
      this.#setState('failed', { reason: errorMessage(err).replace(/\s+/g, ' '), code: errorCode(err) });
      logger.error(errorMessage(err));
      return;
    }
    if (this.o.mediaAddress !== undefined && isIP(this.o.mediaAddress) !== 4) {
      const reason = `media address: ${JSON.stringify(String(this.o.mediaAddress).slice(0, 64))} is not an IPv4 address`;
      this.#setState('failed', { reason });
      logger.error(reason);
      return;
    }
    try {
      let backendUrl = config.mediaBackend.url;
      if (this.o.backend !== 'kms') {
        // The built-in engine listens on loopback only, on a port the OS picks.
        this.engine = await core.KurentoEngine.start({
          host: '127.0.0.1',
          port: 0,
          ...(this.o.mediaAddress ? { interfaceAddress: this.o.mediaAddress } : {}),
          logger: logger.child('engine'),
        });
        backendUrl = this.engine.url;
      }
      if (this.closing) return;
      const gw = new core.Gateway({
        hub: config.hub,
        mediaBackendUrl: backendUrl,
        cameras: config.cameras,
        // 'auto', not true: with Kurento Media Server a warm player would cost a pull per camera and save nothing.
        keepWarm: this.o.keepWarm === false ? false : 'auto',
        allowLanViewers: config.allowLanViewers === true,
        logger: logger.child('gateway'),
      });
      this.gateway = gw;
      // Core's Gateway events are not typed through its EventEmitter; the shapes are its docs' (gateway.ts).
      gw.on('state', (/** @type {string} */ state, /** @type {Record<string, unknown>} */ info) => {
        this.#setState(state, info);
        this.emit('event', { type: 'tunnel', state, ...pick(info, ['reason', 'code', 'nextRetryMs']) });
      });
      gw.on('control', (/** @type {any} */ msg) => void this.flags.applyControl(msg));
      // 4409 (another client took over with this gateway's secret) raises `secret-in-use` like any flag.
      this.flags.watchTunnel(gw);
      // The nodes' own flags (their LAN audit, takeover) reach the hub's viewer, without LAN addresses or passwords.
      this.hubFlags = new core.HubFlagSync({
        gatewayId: this.o.gatewayId,
        store: this.store,
        tunnel: gw,
        cameras: config.cameras,
        logger: logger.child('hub-flags'),
      });
      // The hub's outside findings are matched to these cameras here (camera ids go back, never addresses), and
      // the cameras' global IPv6 addresses are announced for the outside monitor (core docs/exposure.md).
      this.exposure = new core.ExposureResponder({
        gateway: gw,
        cameras: config.cameras,
        ...(this.o.ssdpAddress || this.o.ssdpPort
          ? {
              upnp: {
                ...(this.o.ssdpAddress ? { ssdpAddress: this.o.ssdpAddress } : {}),
                ...(this.o.ssdpPort ? { ssdpPort: this.o.ssdpPort } : {}),
              },
            }
          : {}),
        ...(this.o.ipv6IntervalS ? { ipv6IntervalMs: this.o.ipv6IntervalS * 1000 } : {}),
        logger: logger.child('exposure'),
      });
      this.exposure.start();
      gw.on('viewing', (/** @type {{ cameraId: string, channel: string }} */ e) =>
        this.emit('event', { type: 'viewing', cameraId: e.cameraId, channel: e.channel }),
      );
      gw.on('refused', (/** @type {{ method: string, rule: string, channel: string }} */ e) =>
        this.emit('event', { type: 'refused', method: e.method, rule: e.rule, channel: e.channel }),
      );
      gw.on('channel', (/** @type {{ channel: string, open: boolean }} */ e) =>
        this.emit('event', { type: 'channel', channel: e.channel, open: e.open }),
      );
      gw.on('released', (/** @type {{ objects: unknown }} */ e) =>
        this.emit('event', { type: 'released', objects: e.objects }),
      );
      gw.on('cameraState', (/** @type {import('./types').CameraState} */ c) => {
        this.cameraStates.set(c.cameraId, c);
        this.emit('cameraState', c);
        this.emit('event', { type: 'camera', ...pick(c, ['cameraId', 'state', 'reason', 'notice']) });
      });
      this.#setState('connecting', {});
      gw.start();
    } catch (err) {
      this.#setState('failed', { reason: core.redact(errorMessage(err), secrets.values()), code: errorCode(err) });
      logger.error('could not start', { error: err });
    }
  }

  /** Stops the gateway, the engine and the store; each in its own try so one failure leaks nothing else. Idempotent. */
  async close() {
    if (this.closing) return this.closed;
    this.closing = true;
    this.closed = (async () => {
      await this.ready.catch(() => undefined);
      this.hubFlags?.close();
      this.exposure?.close();
      for (const part of [this.gateway, this.engine, this.flags]) {
        try {
          await part?.close();
        } catch (err) {
          this.o.log('warn', `close failed: ${errorMessage(err)}`);
        }
      }
      this.#setState('closed', {});
      this.removeAllListeners();
    })();
    return this.closed;
  }
}

/**
 * @param {import('./types').CameraEntry} c
 * @returns {{ id: string, name: string, url: string, username?: string, password?: string, host?: string, ports?: number[] }}
 */
function toCameraConfig(c) {
  /** @type {ReturnType<typeof toCameraConfig>} */
  const out = { id: c.id, name: c.name, url: c.url };
  if (c.username) out.username = c.username;
  if (c.password) out.password = c.password;
  if (c.host) out.host = c.host;
  if (c.ports?.length) out.ports = c.ports;
  return out;
}

/** @param {string} u */
function safeUrl(u) {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
}

/**
 * @param {object | undefined} o
 * @param {string[]} keys
 */
function pick(o, keys) {
  /** @type {Record<string, unknown>} */
  const out = {};
  const from = /** @type {Record<string, unknown>} */ (o ?? {});
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

/** Where a gateway's flags live across restarts: `<userDir>/camgate/flags-<id>.jsonl`. */
/**
 * @param {string | undefined} userDir
 * @param {string} gatewayId
 */
function flagFileFor(userDir, gatewayId) {
  if (!userDir || !ID_RE.test(gatewayId)) return undefined;
  return path.join(userDir, 'camgate', `flags-${gatewayId}.jsonl`);
}

/** @param {unknown} err */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {unknown} err */
function errorCode(err) {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

module.exports = { GatewayRuntime, STATES, flagFileFor };
