import type { CameraConfig } from '../config/index.js';
import type { SecretSet } from '../util/index.js';

/** What the hub is told about a camera: its id and name, never its address or credentials. */
export interface AnnouncedCamera {
  id: string;
  name: string;
}

/**
 * `rtsp://user:pass@host/path`: the camera's URL with its credentials,
 * percent-encoded with encodeURIComponent (URL's own setters leave
 * `& + $ ,` as they are). The built-in engine shares one pull per URI string,
 * so everything that opens a camera on the backend (the gateway for viewers
 * and warm players, the Homebridge plugin for tiles) builds it here.
 */
export function cameraUriWithCredentials(cam: Pick<CameraConfig, 'url' | 'username' | 'password'>): string {
  if (cam.username === undefined) return cam.url;
  const url = new URL(cam.url);
  url.username = encodeURIComponent(cam.username);
  url.password = encodeURIComponent(cam.password ?? '');
  return url.toString();
}

/**
 * The cameras of one home. Lives only on the gateway: it turns `camera://ID`
 * into the camera's real RTSP URL with its credentials, which never leave
 * this process except towards the media backend on the LAN.
 */
export class CameraRegistry {
  readonly #cameras = new Map<string, CameraConfig>();

  constructor(cameras: readonly CameraConfig[], secrets?: SecretSet) {
    for (const c of cameras) {
      this.#cameras.set(c.id, c);
      secrets?.add(c.password);
    }
  }

  /** `rtsp://user:pass@host/path` for a registered camera, undefined otherwise. */
  resolveCameraUri(cameraId: string): string | undefined {
    const cam = this.#cameras.get(cameraId);
    return cam ? cameraUriWithCredentials(cam) : undefined;
  }

  /** The hub's view: ids and names only. */
  announce(): AnnouncedCamera[] {
    return [...this.#cameras.values()].map((c) => ({ id: c.id, name: c.name }));
  }

  /** LAN host of a camera (for the audit): `host`, or the host of its URL. */
  lanHost(cameraId: string): string | undefined {
    const cam = this.#cameras.get(cameraId);
    return cam ? (cam.host ?? new URL(cam.url).hostname) : undefined;
  }

  get(cameraId: string): CameraConfig | undefined {
    return this.#cameras.get(cameraId);
  }

  list(): CameraConfig[] {
    return [...this.#cameras.values()];
  }

  /** Every literal value that must never be shown anywhere (camera passwords). */
  secretValues(): string[] {
    return [...this.#cameras.values()].flatMap((c) => (c.password ? [c.password] : []));
  }
}
