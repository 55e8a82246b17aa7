/**
 * Each camera's exposure, shown in Apple Home as a **contact sensor** named
 * "<camera> exposure": Open = the camera is reachable from the internet
 * (an `exposed` or `direct-connection` flag is raised), Closed = not.
 * `StatusTampered` is set for the at-risk flags (telnet open, UPnP mapping,
 * default credentials). A flag that names no camera is about the whole home
 * (the hub found a camera port open on the home's address but cannot tell which
 * camera answers; the gateway's secret is in use elsewhere): it counts for
 * every camera, exactly as core's MqttBridge builds each camera's summary
 * (alerts/mqtt-bridge.ts `#summaries`), so HomeKit and Home Assistant agree.
 * Such flags also open the home-wide "Home network exposure" sensor
 * (home-sensor.ts). Why a contact sensor: Home lists open contact sensors
 * in the status header of the home and the room, lets the user turn on
 * notifications for it, and "Open" reads right for a camera open to the
 * internet — a leak or smoke sensor would raise critical alerts worded as
 * water or fire. README.md says more.
 */
import type { Flag } from '@camgate/core';
import type { API, PlatformAccessory, Service } from 'homebridge';

const EXPOSED_KINDS = new Set(['exposed', 'direct-connection']);

export interface ExposureState {
  exposed: boolean;
  atRisk: boolean;
}

/** The state of one camera from the raised flags that name it and the raised flags of the whole home. */
export function exposureOf(flags: readonly Flag[], cameraId: string): ExposureState {
  const mine = flags.filter((f) => f.state === 'raised' && (f.cameraId === cameraId || f.cameraId === undefined));
  return {
    exposed: mine.some((f) => EXPOSED_KINDS.has(f.kind)),
    atRisk: mine.some((f) => !EXPOSED_KINDS.has(f.kind)),
  };
}

/**
 * The home-wide sensor's state: Open (`exposed`) while any flag of the whole home is raised, whatever its
 * kind; `atRisk` (StatusTampered) while one of them is an at-risk kind rather than an exposure.
 */
export function homeExposureOf(flags: readonly Flag[]): ExposureState {
  const home = flags.filter((f) => f.state === 'raised' && f.cameraId === undefined);
  return { exposed: home.length > 0, atRisk: home.some((f) => !EXPOSED_KINDS.has(f.kind)) };
}

export class ExposureSensor {
  readonly service: Service;
  readonly #api: API;

  /** `label` is the sensor's name in Home; `subtype` keeps the service (and the user's settings) across restarts. */
  constructor(api: API, accessory: PlatformAccessory, label: string, subtype = 'exposure') {
    this.#api = api;
    const { Service: S, Characteristic: C } = api.hap;
    this.service =
      accessory.getServiceById(S.ContactSensor, subtype) ?? accessory.addService(S.ContactSensor, label, subtype);
    this.service.setCharacteristic(C.Name, label);
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
