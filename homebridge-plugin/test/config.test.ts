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

  it('skips bad and duplicate cameras with one line per problem, naming the path, never the password', () => {
    const s = readSettings({
      cameras: [
        { id: 'ok', name: 'OK', url: 'rtsp://10.0.0.2/s' },
        { id: 'ok', name: 'Again', url: 'rtsp://10.0.0.3/s' },
        { id: 'creds', name: 'Creds', url: 'rtsp://u:hunter2-secret@10.0.0.4/s' },
        { id: 'x', name: '', url: 'rtsp://10.0.0.5/s' },
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
    assert.ok(
      s.problems.some((p) => p.startsWith('cameras[3].name')),
      'an empty required field is a problem',
    );
    assert.ok(s.problems.some((p) => p.startsWith('cameras[4]')));
    assert.ok(s.problems.some((p) => p.startsWith('media.kurentoUrl:')));
    assert.ok(s.problems.some((p) => p.startsWith('hub: needs url, gatewayId and secret')));
    assert.ok(!s.problems.join('\n').includes('hunter2-secret'));
    assert.equal(s.hub, undefined);
  });

  it('accepts an entry copied from homebridge-camera-ffmpeg: unknown keys and blank fields dropped with a warning', () => {
    const copied = {
      id: 'porch',
      name: 'Porch',
      url: 'rtsp://10.0.0.2/s',
      snapshotUrl: '',
      username: '',
      password: 'pw-Secret-81',
      manufacturer: 'Acme',
      unbridge: false,
      motion: true,
      videoConfig: { source: '-i rtsp://admin:pw-Secret-81@10.0.0.2/s', maxStreams: 2, audio: false },
    };
    const s = readSettings({ cameras: [copied] });
    assert.deepEqual(s.problems, []);
    assert.equal(s.cameras.length, 1);
    const cam = s.cameras[0]!;
    assert.deepEqual(cam, { id: 'porch', name: 'Porch', url: 'rtsp://10.0.0.2/s', password: 'pw-Secret-81' });
    assert.equal(s.warnings.length, 1);
    const w = s.warnings[0]!;
    assert.match(
      w,
      /^cameras\[0\]: ignored keys this plugin does not use: manufacturer, unbridge, motion, videoConfig/,
    );
    assert.match(w, /empty fields treated as not set: snapshotUrl, username$/);
    assert.ok(!w.includes('pw-Secret-81'), 'values, which may hold the password, are never echoed');
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

  it('reads keepWarm: true, false, or absent (on); anything else is a problem naming the path', () => {
    for (const [given, expected] of [
      [true, true],
      [false, false],
      [undefined, true],
    ] as const) {
      const s = readSettings(given === undefined ? {} : { keepWarm: given });
      assert.deepEqual(s.problems, []);
      assert.equal(s.keepWarm, expected);
    }
    for (const bad of ['false', 0, 1, null, {}]) {
      const s = readSettings({ keepWarm: bad });
      assert.deepEqual(s.problems, ['keepWarm: must be true or false']);
      assert.equal(s.keepWarm, true); // like any other bad optional field: reported, and the default applies
    }
  });

  it('still honours hub.keepWarm from older configs, with a warning, unless keepWarm is set', () => {
    const hub = { url: 'wss://hub/tunnel', gatewayId: 'home', secret: 'hub-secret-77f2-9c1d' };
    const old = readSettings({ hub: { ...hub, keepWarm: false } });
    assert.deepEqual(old.problems, []);
    assert.equal(old.keepWarm, false);
    assert.match(old.warnings.join('\n'), /hub\.keepWarm: moved to keepWarm/);
    assert.ok(old.hub, 'the hub connection stays on');
    const both = readSettings({ keepWarm: true, hub: { ...hub, keepWarm: false } });
    assert.equal(both.keepWarm, true);
    assert.match(both.warnings.join('\n'), /hub\.keepWarm: ignored/);
  });

  it("hands the gateway keepWarm 'auto' when on (warm on the built-in engine only) and false when off", () => {
    assert.equal(gatewayKeepWarm(true), 'auto');
    assert.equal(gatewayKeepWarm(false), false);
    assert.equal(gatewayKeepWarm(readSettings({}).keepWarm), 'auto');
  });

  it('reads hub.allowLanViewers (default off), as the gateway option of the same name', () => {
    const hub = { url: 'wss://hub/tunnel', gatewayId: 'home', secret: 'hub-secret-77f2-9c1d' };
    assert.equal(readSettings({ hub }).hub?.allowLanViewers, false);
    assert.equal(readSettings({ hub: { ...hub, allowLanViewers: true } }).hub?.allowLanViewers, true);
    const bad = readSettings({ hub: { ...hub, allowLanViewers: 'yes' } });
    assert.deepEqual(bad.problems, ['hub.allowLanViewers: must be true or false']);
    assert.equal(bad.hub?.allowLanViewers, false);
  });

  it('reads snapshotCacheSeconds (default 5 s, 0..60) and the audit block (on by default)', () => {
    assert.equal(readSettings({}).snapshotCacheMs, 5_000);
    assert.equal(readSettings({ snapshotCacheSeconds: 0 }).snapshotCacheMs, 0);
    assert.equal(readSettings({ snapshotCacheSeconds: 2.5 }).snapshotCacheMs, 2_500);
    for (const bad of [-1, 61, '5', Number.NaN]) {
      const s = readSettings({ snapshotCacheSeconds: bad });
      assert.equal(s.snapshotCacheMs, 5_000);
      assert.match(s.problems.join('\n'), /^snapshotCacheSeconds: /);
    }
    assert.deepEqual(readSettings({}).audit, { intervalMs: 6 * 3_600_000 });
    assert.equal(readSettings({ audit: { enabled: false } }).audit, false);
    assert.deepEqual(
      readSettings({ audit: { intervalHours: 1, telnet: false, routerAddress: '127.0.0.1:1901' } }).audit,
      { intervalMs: 3_600_000, telnet: false, upnp: { ssdpAddress: '127.0.0.1', ssdpPort: 1901 } },
    );
    assert.deepEqual(readSettings({ audit: { upnp: false, routerAddress: '10.0.0.1' } }).audit, {
      intervalMs: 6 * 3_600_000,
      upnp: false,
    });
    const bad = readSettings({ audit: { intervalHours: 0, routerAddress: 'router.lan' } });
    assert.equal(bad.problems.length, 2);
    assert.deepEqual(bad.audit, { intervalMs: 6 * 3_600_000 });
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

  it('offers keepWarm as a checkbox, on by default, and hub.allowLanViewers off by default', async () => {
    const schema = await readJson(join(PLUGIN_DIR, 'config.schema.json'));
    const props = (schema.schema as { properties: Record<string, Record<string, unknown>> }).properties;
    assert.equal(props.keepWarm?.type, 'boolean');
    assert.equal(props.keepWarm?.default, true);
    const hub = (props.hub as { properties: Record<string, Record<string, unknown>> }).properties;
    assert.equal(hub.keepWarm, undefined, 'moved to the top level');
    assert.equal(hub.allowLanViewers?.type, 'boolean');
    assert.equal(hub.allowLanViewers?.default, false);
  });

  it('renders every secret as a password field, and only those', async () => {
    const schema = await readJson(join(PLUGIN_DIR, 'config.schema.json'));
    const found: string[] = [];
    const walk = (node: Record<string, unknown>, path: string): void => {
      const form = node['x-schema-form'] as { type?: string } | undefined;
      if (form?.type === 'password') found.push(path);
      const props = (node.properties ?? (node.items as Record<string, unknown> | undefined)?.properties) as
        Record<string, Record<string, unknown>> | undefined;
      for (const [k, v] of Object.entries(props ?? {})) walk(v, `${path ? `${path}.` : ''}${k}`);
    };
    walk(schema.schema as Record<string, unknown>, '');
    assert.deepEqual(found.sort(), ['cameras.password', 'exposure.mqttPassword', 'hub.secret']);
  });

  it('has a field for every setting the reader takes, and the reader takes every field', async () => {
    const schema = await readJson(join(PLUGIN_DIR, 'config.schema.json'));
    const top = Object.keys((schema.schema as { properties: Record<string, unknown> }).properties).sort();
    assert.deepEqual(top, ['audit', 'cameras', 'exposure', 'hub', 'keepWarm', 'media', 'name', 'snapshotCacheSeconds']);
    // Every schema default read back gives the reader's own defaults: the UI and the reader agree.
    const s = readSettings({ keepWarm: true, snapshotCacheSeconds: 5, audit: { enabled: true, intervalHours: 6 } });
    assert.deepEqual(s.problems, []);
    assert.deepEqual(
      { keepWarm: s.keepWarm, snapshotCacheMs: s.snapshotCacheMs, audit: s.audit },
      {
        keepWarm: readSettings({}).keepWarm,
        snapshotCacheMs: readSettings({}).snapshotCacheMs,
        audit: readSettings({}).audit,
      },
    );
  });
});
