import { haSafe, homeObjectId, type Topics } from './topics.js';

/**
 * Home Assistant MQTT discovery for one camera: a `binary_sensor` that is ON
 * while the camera is exposed or at risk. Field names follow the Home
 * Assistant "MQTT Binary sensor" and "MQTT Discovery" documentation
 * (https://www.home-assistant.io/integrations/binary_sensor.mqtt/,
 * https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery).
 */

export interface HaDevice {
  identifiers: string[];
  name: string;
  manufacturer: string;
  model: string;
  sw_version: string;
}

/** One availability topic of a discovered entity (HA "MQTT Binary sensor": `availability`). */
export interface HaAvailability {
  topic: string;
  payload_available: 'online';
  payload_not_available: 'offline';
}

/**
 * Every entity is available only while BOTH hold (`availability_mode: all`): the gateway's hub tunnel is
 * connected and accepted (`status`), and the bridge that publishes runs (`bridge`, also its last will).
 * One topic alone would lie: `status` stays `online` after a crash of the bridge, `bridge` says nothing of
 * the hub.
 */
export function haAvailability(topics: Topics): { availability: HaAvailability[]; availability_mode: 'all' } {
  const a = (topic: string): HaAvailability => ({
    topic,
    payload_available: 'online',
    payload_not_available: 'offline',
  });
  return { availability: [a(topics.status), a(topics.bridge)], availability_mode: 'all' };
}

export interface HaBinarySensorConfig {
  name: string;
  unique_id: string;
  object_id: string;
  /** `problem`: on means a problem was detected (HA binary sensor device classes). */
  device_class: 'problem';
  state_topic: string;
  value_template: string;
  payload_on: string;
  payload_off: string;
  json_attributes_topic: string;
  availability: HaAvailability[];
  availability_mode: 'all';
  qos: 1;
  icon: string;
  device: HaDevice;
  origin: { name: string; sw_version: string };
}

export interface HaDiscoveryInput {
  topics: Topics;
  gatewayId: string;
  gatewayName: string;
  camera: { id: string; name: string };
  swVersion: string;
}

/** The discovery topic and its retained config payload for one camera. */
export function binarySensorDiscovery(input: HaDiscoveryInput): { topic: string; config: HaBinarySensorConfig } {
  const { topics, gatewayId, gatewayName, camera, swVersion } = input;
  const objectId = `camgate_${haSafe(gatewayId)}_${haSafe(camera.id)}`;
  const stateTopic = topics.exposure(camera.id);
  return {
    topic: topics.discovery(camera.id),
    config: {
      name: `${camera.name} exposure`,
      unique_id: objectId,
      object_id: objectId,
      device_class: 'problem',
      state_topic: stateTopic,
      // The exposure payload is JSON ({state, flags, updatedAt}); anything but
      // `ok` is a problem. Unknown JSON yields OFF rather than a stuck ON.
      value_template: "{{ 'ON' if value_json.state in ['exposed', 'at-risk'] else 'OFF' }}",
      payload_on: 'ON',
      payload_off: 'OFF',
      json_attributes_topic: stateTopic,
      ...haAvailability(topics),
      qos: 1,
      icon: 'mdi:cctv',
      device: haDevice(gatewayId, gatewayName, swVersion),
      origin: { name: 'camgate', sw_version: swVersion },
    },
  };
}

/** The one device per gateway every camgate entity belongs to. */
export function haDevice(gatewayId: string, gatewayName: string, swVersion: string): HaDevice {
  return {
    identifiers: [`camgate_${haSafe(gatewayId)}`],
    name: gatewayName,
    manufacturer: 'camgate',
    model: 'camgate gateway',
    sw_version: swVersion,
  };
}

/**
 * The home-wide "Home network exposure" sensor: ON while a flag that names no camera is raised (the hub
 * found a port open on the home's public address but could not tell which camera answers, or the
 * gateway's secret is in use elsewhere). Its attributes are the home-exposure payload: the raised flags
 * with their evidence and advice.
 */
export function homeSensorDiscovery(input: Omit<HaDiscoveryInput, 'camera'>): {
  topic: string;
  config: HaBinarySensorConfig;
} {
  const { topics, gatewayId, gatewayName, swVersion } = input;
  const objectId = homeObjectId(gatewayId);
  return {
    topic: topics.homeDiscovery,
    config: {
      name: 'Home network exposure',
      unique_id: objectId,
      object_id: objectId,
      device_class: 'problem',
      state_topic: topics.homeExposure,
      value_template: "{{ 'ON' if value_json.state in ['exposed', 'at-risk'] else 'OFF' }}",
      payload_on: 'ON',
      payload_off: 'OFF',
      json_attributes_topic: topics.homeExposure,
      ...haAvailability(topics),
      qos: 1,
      icon: 'mdi:shield-home',
      device: haDevice(gatewayId, gatewayName, swVersion),
      origin: { name: 'camgate', sw_version: swVersion },
    },
  };
}
