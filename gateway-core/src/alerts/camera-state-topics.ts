/**
 * A camera's state on MQTT (docs/mqtt.md, "Camera state"): a retained JSON
 * state, a retained availability (`online` only while the camera is live),
 * and a Home Assistant connectivity sensor per camera. The state comes from
 * the gateway (Gateway `cameraState`); it names no address and no credential.
 */
import { haSafe, type Topics } from './topics.js';
import { haAvailability, type HaDevice } from './ha-discovery.js';

/** What the bridge is told: the gateway's GatewayCameraState, restated here so alerts/ stays a library. */
export interface CameraStateInput {
  cameraId: string;
  state: 'idle' | 'connecting' | 'live' | 'reconnecting' | 'unreachable';
  reason?: string;
  notice?: { code: string; message: string };
}

export interface CameraStatePayload {
  state: CameraStateInput['state'];
  reason?: string;
  notice?: { code: string; message: string };
  /** When the gateway learned this state (ISO 8601). */
  updatedAt: string;
}

const STATES = new Set(['idle', 'connecting', 'live', 'reconnecting', 'unreachable']);
const MAX_TEXT = 300;

/** `online` while the camera sends video, `offline` otherwise (idle included: nothing is pulled, nothing known). */
export function cameraAvailability(s: CameraStateInput): 'online' | 'offline' {
  return s.state === 'live' ? 'online' : 'offline';
}

/** The retained state payload; throws RangeError for a state outside the list. */
export function cameraStatePayload(s: CameraStateInput, updatedAt: string): CameraStatePayload {
  if (!STATES.has(s.state))
    throw new RangeError(`camera state must be one of ${[...STATES].join(', ')}, got ${String(s.state)}`);
  const out: CameraStatePayload = { state: s.state, updatedAt };
  if (typeof s.reason === 'string') out.reason = s.reason.slice(0, MAX_TEXT);
  if (s.notice) out.notice = { code: s.notice.code.slice(0, 64), message: s.notice.message.slice(0, MAX_TEXT) };
  return out;
}

/** Topics of one camera's state (under the gateway's, beside `<camera>/exposure`). */
export function cameraStateTopics(topics: Topics, cameraId: string): { state: string; availability: string } {
  const base = topics.exposure(cameraId).replace(/\/exposure$/, '');
  return { state: `${base}/state`, availability: `${base}/availability` };
}

/**
 * Home Assistant discovery of a `connectivity` binary sensor per camera: ON while live. Its availability is
 * the gateway's (`haAvailability`: hub tunnel and bridge both up); the reason and notice are
 * its attributes (https://www.home-assistant.io/integrations/binary_sensor.mqtt/).
 */
export function connectivityDiscovery(input: {
  topics: Topics;
  discoveryPrefix: string;
  gatewayId: string;
  camera: { id: string; name: string };
  device: HaDevice;
  swVersion: string;
}): { topic: string; config: Record<string, unknown> } {
  const { topics, gatewayId, camera } = input;
  const objectId = `camgate_${haSafe(gatewayId)}_${haSafe(camera.id)}_camera`;
  const state = cameraStateTopics(topics, camera.id).state;
  return {
    topic: `${input.discoveryPrefix}/binary_sensor/${objectId}/config`,
    config: {
      name: `${camera.name} camera`,
      unique_id: objectId,
      object_id: objectId,
      device_class: 'connectivity',
      state_topic: state,
      value_template: "{{ 'ON' if value_json.state == 'live' else 'OFF' }}",
      payload_on: 'ON',
      payload_off: 'OFF',
      json_attributes_topic: state,
      ...haAvailability(topics),
      qos: 1,
      icon: 'mdi:cctv',
      device: input.device,
      origin: { name: 'camgate', sw_version: input.swVersion },
    },
  };
}
