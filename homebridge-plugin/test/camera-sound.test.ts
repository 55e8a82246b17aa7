/** A camera entry's sound options (`audio`, `talkBack`): defaults, checks, and config.schema.json kept in step. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { DEFAULT_CAMERA_SOUND } from '../src/camera-sound.js';
import { readSettings } from '../src/config.js';

const cam = (extra: Record<string, unknown>) => ({ id: 'door', name: 'Door', url: 'rtsp://10.0.0.5/s', ...extra });

describe('camera sound options', () => {
  it('default to sound on, talk-back off, and are not reported as foreign keys', () => {
    const s = readSettings({ cameras: [cam({})] });
    assert.deepEqual(s.sound.door, { audio: true, talkBack: false });
    const t = readSettings({ cameras: [cam({ audio: true, talkBack: true })] });
    assert.deepEqual(t.sound.door, { audio: true, talkBack: true });
    assert.deepEqual(t.problems, []);
    assert.deepEqual(t.warnings, []);
    assert.deepEqual(readSettings({ cameras: [cam({ audio: false })] }).sound.door, { audio: false, talkBack: false });
  });

  it('name a wrong value by its path and keep the camera with the default', () => {
    const s = readSettings({ cameras: [cam({ audio: 'yes', talkBack: 1 })] });
    assert.equal(s.cameras.length, 1);
    assert.deepEqual(s.sound.door, DEFAULT_CAMERA_SOUND);
    assert.deepEqual(s.problems, [
      'cameras[0].audio: must be true or false; using true',
      'cameras[0].talkBack: must be true or false; using false',
    ]);
  });

  it('turn talk-back off without sound, saying why', () => {
    const s = readSettings({ cameras: [cam({ audio: false, talkBack: true })] });
    assert.deepEqual(s.sound.door, { audio: false, talkBack: false });
    assert.match(s.problems[0]!, /^cameras\[0\]\.talkBack: needs audio on/);
  });

  it("match config.schema.json's fields and defaults", async () => {
    const json = JSON.parse(await readFile(new URL('../config.schema.json', import.meta.url), 'utf8')) as {
      schema: {
        properties: { cameras: { items: { properties: Record<string, { type: string; default: unknown }> } } };
      };
    };
    const p = json.schema.properties.cameras.items.properties;
    for (const key of ['audio', 'talkBack'] as const) {
      assert.equal(p[key]!.type, 'boolean');
      assert.equal(p[key]!.default, DEFAULT_CAMERA_SOUND[key], key);
    }
  });
});
