import { haSafe, type Topics } from './topics.js';

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
  availability_topic: string;
  payload_available: string;
  payload_not_available: string;
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
      availability_topic: topics.status,
      payload_available: 'online',
      payload_not_available: 'offline',
      qos: 1,
      icon: 'mdi:cctv',
      device: {
        identifiers: [`camgate_${haSafe(gatewayId)}`],
        name: gatewayName,
        manufacturer: 'camgate',
        model: 'camgate gateway',
        sw_version: swVersion,
      },
      origin: { name: 'camgate', sw_version: swVersion },
    },
  };
}
