/** Config reading and the config UI schema: clear problems with paths, bad entries skipped, secrets unechoed. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cameraUriWithCredentials } from '@camgate/core';
import { gatewayKeepWarm, readSettings } from '../src/config.js';
import { PLUGIN_DIR } from './helpers/homebridge.js';

const readJson = async (p: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;

describe('readSettings', () => {
  it('accepts the example config in examples/ without a problem', async () => {
    const example = await readJson(join(PLUGIN_DIR, '..', 'examples', 'homebridge-config.json'));
    const platform = (example.platforms as Record<string, unknown>[]).find((p) => p.platform === 'Camgate');
    const s = readSettings(platform);
    assert.deepEqual(s.problems, []);
    assert.deepEqual(
      s.cameras.map((c) => c.id),
      ['porch', 'garage'],
    );
    assert.equal(s.exposure.mqttUrl, 'mqtt://192.168.1.5:1883');
  });

  it('reads exposure.canary (the LAN canary socket) and refuses a relative path, naming it', () => {
    assert.equal(
      readSettings({ exposure: { canary: '/run/camgate/canary.sock' } }).exposure.canary,
      '/run/camgate/canary.sock',
    );
    const bad = readSettings({ exposure: { canary: 'canary.sock' } });
    assert.equal(bad.exposure.canary, undefined);
    assert.ok(
      bad.problems.some((p) => p.includes('exposure') && p.includes('canary')),
      bad.problems.join('\n'),
    );
  });

  it('skips bad and duplicate cameras with one line per problem, naming the path, never the password', () => {
    const s = readSettings({
      cameras: [
        { id: 'ok', name: 'OK', url: 'rtsp://10.0.0.2/s' },
        { id: 'ok', name: 'Again', url: 'rtsp://10.0.0.3/s' },
        { id: 'creds', name: 'Creds', url: 'rtsp://u:hunter2-secret@10.0.0.4/s' },
        { id: 'x', name: 'X', url: 'rtsp://10.0.0.5/s', extra: true },
        'garbage',
      ],
      media: { kurentoUrl: 'http://kms' },
      hub: { url: 'wss://hub/tunnel' },
    });
    assert.deepEqual(
      s.cameras.map((c) => c.id),
      ['ok'],
    );
    assert.ok(s.problems.some((p) => p.startsWith('cameras[1].id: duplicate id')));
    assert.ok(s.problems.some((p) => p.startsWith('cameras[2].url: must not contain credentials')));
    assert.ok(s.problems.some((p) => p.startsWith('cameras[3]')));
    assert.ok(s.problems.some((p) => p.startsWith('cameras[4]')));
    assert.ok(s.problems.some((p) => p.startsWith('media.kurentoUrl:')));
    assert.ok(s.problems.some((p) => p.startsWith('hub: needs url, gatewayId and secret')));
    assert.ok(!s.problems.join('\n').includes('hunter2-secret'));
    assert.equal(s.hub, undefined);
  });

  it('survives a config that is not an object at all', () => {
    for (const raw of [null, 42, 'x', [], { cameras: 'nope' }]) {
      const s = readSettings(raw);
      assert.deepEqual(s.cameras, []);
    }
    assert.deepEqual(readSettings({ cameras: 'nope' }).problems, ['cameras: must be a list']);
  });

  it('keeps the hub off when fingerprint256 is given but is not a fingerprint, rather than connect unpinned', () => {
    const hub = { url: 'wss://hub/tunnel', gatewayId: 'home', secret: 'hub-secret-77f2-9c1d' };
    const pin = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0')).join(':');
    assert.equal(readSettings({ hub: { ...hub, fingerprint256: pin } }).hub?.fingerprint256, pin);
    const bad = readSettings({ hub: { ...hub, fingerprint256: 'AA:BB:not-a-pin' } });
    assert.equal(bad.hub, undefined);
    assert.ok(
      bad.problems.some((p) => /fingerprint256 is not a SHA-256 fingerprint; the hub connection is off/.test(p)),
    );
  });

  it("refuses a hub secret shorter than core's minimum, as the gateway config does, without echoing it", () => {
    const s = readSettings({ hub: { url: 'wss://hub/tunnel', gatewayId: 'home', secret: 'short-secret-1' } });
    assert.equal(s.hub, undefined);
    assert.ok(s.problems.includes('hub.secret: must be at least 16 characters (use `camgate hub add-gateway`)'));
    assert.ok(!s.problems.join('\n').includes('short-secret-1'));
  });

  it('reads hub.keepWarm: true, false, or absent (on); anything else is a problem naming the path', () => {
    const hub = { url: 'wss://hub/tunnel', gatewayId: 'home', secret: 'hub-secret-77f2-9c1d' };
    for (const [given, expected] of [
      [true, true],
      [false, false],
      [undefined, true],
    ] as const) {
      const s = readSettings({ hub: { ...hub, ...(given === undefined ? {} : { keepWarm: given }) } });
      assert.deepEqual(s.problems, []);
      assert.equal(s.hub?.keepWarm, expected);
    }
    for (const bad of ['false', 0, 1, null, {}]) {
      const s = readSettings({ hub: { ...hub, keepWarm: bad } });
      assert.deepEqual(s.problems, ['hub.keepWarm: must be true or false']);
      // Like any other bad optional field: reported, and the default applies; the hub connection stays on.
      assert.equal(s.hub?.keepWarm, true);
    }
  });

  it("hands the gateway keepWarm 'auto' when on (warm on the built-in engine only) and false when off", () => {
    const hub = { url: 'wss://hub/tunnel', gatewayId: 'home', secret: 'hub-secret-77f2-9c1d' };
    assert.equal(gatewayKeepWarm({ ...hub, keepWarm: true }), 'auto');
    assert.equal(gatewayKeepWarm({ ...hub, keepWarm: false }), false);
    assert.equal(gatewayKeepWarm(readSettings({ hub }).hub!), 'auto');
  });

  it('puts credentials into the RTSP URL for the media backend only', () => {
    const [cam] = readSettings({
      cameras: [{ id: 'a', name: 'A', url: 'rtsp://10.0.0.2:554/s', username: 'u', password: 'p@ss' }],
    }).cameras;
    assert.equal(cameraUriWithCredentials(cam!), 'rtsp://u:p%40ss@10.0.0.2:554/s');
  });

  it("encodes credentials as the gateway does, so Apple Home's streams share the gateway's warm pull", () => {
    // The tiles use the gateway's own cameraUriWithCredentials. The built-in engine keys its shared pulls
    // by the URI string, so the two must be equal character for character.
    const [cam] = readSettings({
      cameras: [{ id: 'a', name: 'A', url: 'rtsp://10.0.0.2/s', username: 'me+1', password: 'a&b$c,d+e@f g' }],
    }).cameras;
    assert.equal(cameraUriWithCredentials(cam!), 'rtsp://me%2B1:a%26b%24c%2Cd%2Be%40f%20g@10.0.0.2/s');
  });
});

describe('config.schema.json', () => {
  it('gives every field a title, a description and a placeholder (Homebridge config UI)', async () => {
    const schema = await readJson(join(PLUGIN_DIR, 'config.schema.json'));
    assert.equal(schema.pluginAlias, 'Camgate');
    assert.equal(schema.pluginType, 'platform');
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, path: string): void => {
      const props = (node.properties ?? (node.items as Record<string, unknown> | undefined)?.properties) as
        Record<string, Record<string, unknown>> | undefined;
      if (!props) {
        // A boolean is a checkbox in the config UI: it shows no placeholder.
        const keys = node.type === 'boolean' ? ['title', 'description'] : ['title', 'description', 'placeholder'];
        for (const k of keys) if (!(k in node)) missing.push(`${path}.${k}`);
        return;
      }
      for (const [k, v] of Object.entries(props)) walk(v, `${path}.${k}`);
    };
    walk(schema.schema as Record<string, unknown>, 'schema');
    assert.deepEqual(missing, []);
  });

  it('offers hub.keepWarm as a checkbox, on by default', async () => {
    const schema = await readJson(join(PLUGIN_DIR, 'config.schema.json'));
    const hub = (
      schema.schema as { properties: Record<string, { properties: Record<string, Record<string, unknown>> }> }
    ).properties.hub!.properties;
    assert.equal(hub.keepWarm?.type, 'boolean');
    assert.equal(hub.keepWarm?.default, true);
  });
});
