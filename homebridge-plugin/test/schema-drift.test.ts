/**
 * config.schema.json is what Homebridge's UI checks as the user types; @camgate/core's CONFIG_PATTERNS are what
 * the plugin and every other camgate config accept. JSON Schema patterns have no flags, so they are written out
 * (case-expanded schemes) rather than copied: this test pins them to core on inputs that tell the rules apart.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CONFIG_PATTERNS, GATEWAY_SECRET_MIN_LENGTH } from '@camgate/core';
import { ROUTER_ADDRESS } from '../src/config.js';

interface Field {
  pattern?: string;
  minLength?: number;
  properties?: Record<string, Field>;
  items?: Field;
}

const SAMPLES: Record<keyof typeof CONFIG_PATTERNS, string[]> = {
  id: ['porch', 'Front-door_2', '9', '-x', '_x', 'a.b', 'a b', '', 'x'.repeat(63), 'x'.repeat(64), 'über'],
  rtspUrl: [
    'rtsp://192.168.1.20:554/stream1',
    'RTSP://cam/s',
    'rtsps://cam.lan/a@b',
    'rtsp://cam',
    'rtsp://u:p@cam/s',
    'rtsp:///s',
    'rtsp://cam/a b',
    'http://cam/s',
    'rtsp://[fd00::5]:554/s',
  ],
  wsUrl: ['wss://hub.example.net/tunnel', 'WS://127.0.0.1:8888/kurento', 'wss://', 'https://hub', 'wss://a b'],
  mqttUrl: ['mqtt://192.168.1.5:1883', 'MQTTS://broker', 'mqtt://', 'tcp://broker', 'mqtt://a b'],
  fingerprint256: [
    Array.from({ length: 32 }, () => 'AB').join(':'),
    Array.from({ length: 32 }, () => 'ab').join(':'),
    'AB'.repeat(32),
    Array.from({ length: 31 }, () => 'AB').join(':'),
    Array.from({ length: 32 }, () => 'AG').join(':'),
  ],
};

async function schemaFields(): Promise<Record<string, Field>> {
  const json = JSON.parse(await readFile(new URL('../config.schema.json', import.meta.url), 'utf8')) as {
    schema: { properties: Record<string, Field> };
  };
  const p = json.schema.properties;
  return {
    'cameras[].id': p.cameras!.items!.properties!.id!,
    'cameras[].url': p.cameras!.items!.properties!.url!,
    'media.kurentoUrl': p.media!.properties!.kurentoUrl!,
    'exposure.mqttUrl': p.exposure!.properties!.mqttUrl!,
    'hub.url': p.hub!.properties!.url!,
    'hub.gatewayId': p.hub!.properties!.gatewayId!,
    'hub.fingerprint256': p.hub!.properties!.fingerprint256!,
    'hub.secret': p.hub!.properties!.secret!,
    'audit.routerAddress': p.audit!.properties!.routerAddress!,
  };
}

const RULE_OF: Record<string, keyof typeof CONFIG_PATTERNS> = {
  'cameras[].id': 'id',
  'cameras[].url': 'rtspUrl',
  'media.kurentoUrl': 'wsUrl',
  'exposure.mqttUrl': 'mqttUrl',
  'hub.url': 'wsUrl',
  'hub.gatewayId': 'id',
  'hub.fingerprint256': 'fingerprint256',
};

describe('config.schema.json', () => {
  for (const [path, rule] of Object.entries(RULE_OF)) {
    it(`${path} accepts exactly what core's CONFIG_PATTERNS.${rule} accepts`, async () => {
      const field = (await schemaFields())[path]!;
      assert.ok(field.pattern, `${path} has no pattern`);
      const json = new RegExp(field.pattern, 'u');
      for (const sample of SAMPLES[rule]) {
        assert.equal(json.test(sample), CONFIG_PATTERNS[rule].test(sample), `${path} on ${JSON.stringify(sample)}`);
      }
    });
  }

  it("audit.routerAddress accepts exactly what the plugin's reader accepts", async () => {
    const json = new RegExp((await schemaFields())['audit.routerAddress']!.pattern!, 'u');
    for (const sample of ['192.168.1.1', '127.0.0.1:1901', 'router.lan', '10.0.0.1:', '::1', '1.2.3.4:123456']) {
      assert.equal(json.test(sample), ROUTER_ADDRESS.test(sample), sample);
    }
  });

  it("hub.secret has core's minimum length", async () => {
    assert.equal((await schemaFields())['hub.secret']!.minLength, GATEWAY_SECRET_MIN_LENGTH);
  });
});
