import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, SecretSet } from '@camgate/core';
import type { Logging } from 'homebridge';
import { homebridgeSink, prefixed, type PrefixedLog } from '../src/log.js';

function recorder(): PrefixedLog & { lines: [string, string][] } {
  const lines: [string, string][] = [];
  return {
    lines,
    debug: (m) => lines.push(['debug', m]),
    info: (m) => lines.push(['info', m]),
    warn: (m) => lines.push(['warn', m]),
    error: (m) => lines.push(['error', m]),
  };
}

describe('homebridgeSink', () => {
  it("keeps core's log levels (an error stays an error) and prefixes the camera a record names", () => {
    const log = recorder();
    const secrets = new SecretSet();
    secrets.add('cam-Pass-42');
    const core = createLogger('gateway', homebridgeSink(log), secrets);
    core.debug('d');
    core.info('tunnel up');
    core.warn('retrying');
    core.error('camera stream failed for rtsp://admin:cam-Pass-42@192.0.2.7/s', { camera: 'porch' });
    assert.deepEqual(log.lines.slice(0, 3), [
      ['debug', 'gateway: d'],
      ['info', 'gateway: tunnel up'],
      ['warn', 'gateway: retrying'],
    ]);
    const [level, line] = log.lines[3]!;
    assert.equal(level, 'error');
    assert.match(line, /^\[porch\] gateway: camera stream failed for /);
    assert.ok(!line.includes('cam-Pass-42'), 'the camera password is redacted');
  });
});

describe('prefixed + homebridgeSink (as the platform wires them)', () => {
  it("reaches Homebridge's own log methods at the record's level, with the platform's prefix rules", () => {
    const calls: [string, string][] = [];
    const rec = (level: string) => (m: string) => void calls.push([level, m]);
    // The shape of Homebridge's Logging: one method per level (homebridge `Logger`).
    const hbLog = Object.assign(rec('log'), {
      prefix: 'camgate',
      debug: rec('debug'),
      info: rec('info'),
      success: rec('success'),
      warn: rec('warn'),
      error: rec('error'),
      log: rec('log'),
    }) as unknown as Logging;
    const core = createLogger('flags', homebridgeSink(prefixed(hbLog)), new SecretSet());
    core.error('audit failed', { camera: 'porch' });
    core.warn('router did not answer');
    core.info('audit done');
    core.debug('probe 23 closed');
    const camLog = prefixed(hbLog, 'Porch');
    camLog.info('camera is being watched');
    assert.deepEqual(calls, [
      ['error', '[porch] flags: audit failed'],
      ['warn', 'flags: router did not answer'],
      ['info', 'flags: audit done'],
      ['debug', 'flags: probe 23 closed'],
      ['info', '[Porch] camera is being watched'],
    ]);
  });
});
