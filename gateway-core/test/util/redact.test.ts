import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redact, redactString, REDACTED } from '../../src/util/redact.js';
import { createLogger, memorySink, SecretSet } from '../../src/util/logger.js';

describe('redact', () => {
  it('removes userinfo from URLs inside strings', () => {
    assert.equal(
      redactString('pulling rtsp://admin:hunter22@192.168.1.20:554/s1 now'),
      `pulling rtsp://${REDACTED}@192.168.1.20:554/s1 now`,
    );
  });

  it('replaces secret-named fields at any depth', () => {
    const out = redact({ a: { password: 'x', nested: [{ secret: 'y' }] }, name: 'cam' });
    assert.deepEqual(out, { a: { password: REDACTED, nested: [{ secret: REDACTED }] }, name: 'cam' });
  });

  it('removes registered literal secrets under any key', () => {
    const out = redact({ note: 'the value s3cr3t-value leaked' }, ['s3cr3t-value']);
    assert.deepEqual(out, { note: `the value ${REDACTED} leaked` });
  });

  it('keeps the code of an Error and redacts its message', () => {
    const err = Object.assign(new Error('bad rtsp://u:pw@h/'), { code: 'X' });
    assert.deepEqual(redact({ err }), { err: { name: 'Error', message: `bad rtsp://${REDACTED}@h/`, code: 'X' } });
  });
});

describe('createLogger', () => {
  it('redacts message and fields before the sink sees them', () => {
    const sink = memorySink();
    const secrets = new SecretSet();
    secrets.add('gw-secret-123456');
    const log = createLogger('hub', sink, secrets).child('tunnel');
    log.warn('auth failed with gw-secret-123456', { secret: 'gw-secret-123456', url: 'ws://a:b@h' });
    assert.equal(sink.records.length, 1);
    const r = sink.records[0]!;
    assert.equal(r.component, 'hub:tunnel');
    assert.equal(r.level, 'warn');
    assert.equal(JSON.stringify(r).includes('gw-secret-123456'), false);
    assert.equal(r.fields.url, `ws://${REDACTED}@h`);
  });
});
