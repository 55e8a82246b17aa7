import type { GatewayStatus } from '../api.js';
import { isGranted } from '../accounts/index.js';

/** Whether a camera can be reached from the internet, as the hub's exposure monitor last found. */
export type ExposureState = 'ok' | 'exposed' | 'at-risk' | 'unknown';

/** One camera as the page lists it. */
export interface CameraEntry {
  gateway: string;
  gatewayName: string;
  camera: string;
  name: string;
  /** Whether the camera's gateway is connected now. */
  online: boolean;
  /** Filled by the exposure wiring when known; absent otherwise. */
  exposure?: ExposureState;
  /** Whether this person may talk through the camera (push-to-talk button); absent when not. */
  talk?: true;
}

/**
 * The cameras `grants` allow, across gateways. Cameras come from each
 * gateway's announce; an explicitly granted camera of a gateway that is
 * offline (and so announced nothing) is still listed, as offline.
 */
export function camerasFor(
  grants: readonly string[],
  gateways: readonly GatewayStatus[],
  exposureFor?: (gatewayId: string, cameraId: string) => ExposureState | undefined,
): CameraEntry[] {
  const out: CameraEntry[] = [];
  for (const g of gateways) {
    const gatewayName = g.name ?? g.id;
    const seen = new Set<string>();
    for (const c of g.cameras) {
      if (!isGranted(grants, g.id, c.id) || seen.has(c.id)) continue;
      seen.add(c.id);
      out.push({ gateway: g.id, gatewayName, camera: c.id, name: c.name, online: g.online });
    }
    if (!g.online) {
      for (const grant of grants) {
        const [gw, cam] = grant.split('/');
        if (gw !== g.id || !cam || cam === '*' || seen.has(cam)) continue;
        seen.add(cam);
        out.push({ gateway: g.id, gatewayName, camera: cam, name: cam, online: false });
      }
    }
  }
  if (exposureFor) {
    for (const e of out) {
      const x = exposureFor(e.gateway, e.camera);
      if (x) e.exposure = x;
    }
  }
  return out;
}
