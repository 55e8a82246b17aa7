/**
 * The home-wide "Home network exposure" accessory: one contact sensor, Open
 * while any flag about the whole home is raised (exposure-sensor.ts
 * `homeExposureOf`). A flag without a camera — the hub found a camera service
 * answering on the home's address but could not tell which camera, or the
 * gateway's secret is in use elsewhere — would otherwise show only as every
 * camera's sensor opening, which reads as "all my cameras" rather than
 * "my home". Home Assistant gets the same as a home-wide binary_sensor.
 */
import type { API, PlatformAccessory } from 'homebridge';
import { ExposureSensor } from './exposure-sensor.js';

export const HOME_SENSOR_NAME = 'Home network exposure';
/** HAP Categories.SENSOR (a `const enum` in HAP-NodeJS Accessory.ts). */
export const CATEGORY_SENSOR = 10;

export function homeSensorAccessory(api: API, accessory: PlatformAccessory): ExposureSensor {
  accessory
    .getService(api.hap.Service.AccessoryInformation)!
    .setCharacteristic(api.hap.Characteristic.Manufacturer, 'camgate')
    .setCharacteristic(api.hap.Characteristic.Model, 'Home network exposure')
    .setCharacteristic(api.hap.Characteristic.SerialNumber, 'home');
  return new ExposureSensor(api, accessory, HOME_SENSOR_NAME, 'home-exposure');
}
