/**
 * Each camera's exposure, shown in Apple Home as a **contact sensor** named
 * "<camera> exposure": Open = the camera is reachable from the internet
 * (an `exposed` or `direct-connection` flag is raised), Closed = not.
 * `StatusTampered` is set for the at-risk flags (telnet open, UPnP mapping,
 * default credentials), and on every camera while the gateway's secret is in
 * use elsewhere (`secret-in-use`: its tunnel was taken over) or a LAN device that is not a camera scans
 * (`compromise` without a camera: the canary names it by address). Why a contact sensor: Home lists open contact sensors
 * in the status header of the home and the room, lets the user turn on
 * notifications for it, and "Open" reads right for a camera open to the
 * internet — a leak or smoke sensor would raise critical alerts worded as
 * water or fire. README.md says more.
 */
import type { Flag } from '@camgate/core';
import type { API, PlatformAccessory, Service } from 'homebridge';

const EXPOSED_KINDS = new Set(['exposed', 'direct-connection']);
/** Flags about the whole gateway rather than one camera: every camera behind it is at risk. */
const GATEWAY_WIDE_KINDS = new Set(['secret-in-use', 'compromise']);

export interface ExposureState {
  exposed: boolean;
  atRisk: boolean;
}

/** The state of one camera from the raised flags that name it. */
export function exposureOf(flags: readonly Flag[], cameraId: string): ExposureState {
  const mine = flags.filter(
    (f) =>
      f.state === 'raised' && (f.cameraId === cameraId || (f.cameraId === undefined && GATEWAY_WIDE_KINDS.has(f.kind))),
  );
  return {
    exposed: mine.some((f) => EXPOSED_KINDS.has(f.kind)),
    atRisk: mine.some((f) => !EXPOSED_KINDS.has(f.kind)),
  };
}

export class ExposureSensor {
  readonly service: Service;
  readonly #api: API;

  constructor(api: API, accessory: PlatformAccessory, cameraName: string) {
    this.#api = api;
    const { Service: S, Characteristic: C } = api.hap;
    this.service =
      accessory.getServiceById(S.ContactSensor, 'exposure') ??
      accessory.addService(S.ContactSensor, `${cameraName} exposure`, 'exposure');
    this.service.setCharacteristic(C.Name, `${cameraName} exposure`);
    if (!this.service.testCharacteristic(C.StatusTampered)) this.service.addOptionalCharacteristic(C.StatusTampered);
  }

  update(state: ExposureState): void {
    const C = this.#api.hap.Characteristic;
    this.service.updateCharacteristic(
      C.ContactSensorState,
      state.exposed ? C.ContactSensorState.CONTACT_NOT_DETECTED : C.ContactSensorState.CONTACT_DETECTED,
    );
    this.service.updateCharacteristic(
      C.StatusTampered,
      state.atRisk ? C.StatusTampered.TAMPERED : C.StatusTampered.NOT_TAMPERED,
    );
  }
}
