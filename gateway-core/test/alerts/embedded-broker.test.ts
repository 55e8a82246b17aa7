import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startEmbeddedBroker } from '../../src/alerts/embedded-broker.js';
import { watch } from '../helpers/alerts.js';
import mqtt from 'mqtt';

describe('startEmbeddedBroker', () => {
  it('refuses to listen anywhere but loopback', async () => {
    await assert.rejects(startEmbeddedBroker({ host: '0.0.0.0' }), /host must be a loopback address/);
    await assert.rejects(startEmbeddedBroker({ host: '192.0.2.1' }), RangeError);
    await assert.rejects(startEmbeddedBroker({ port: 70000 }), /port must be an integer 0-65535, got 70000/);
  });

  it('serves MQTT 3.1.1 on an ephemeral loopback port, retained messages included', async (t) => {
    const broker = await startEmbeddedBroker({});
    t.after(() => broker.close());
    assert.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(broker.port, 0);
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await pub.publishAsync('a/b', 'hello', { qos: 1, retain: true });
    await pub.endAsync();
    const w = await watch(broker.url, ['a/#']);
    t.after(() => w.close());
    assert.equal(await w.waitFor('a/b'), 'hello');
  });

  it('survives garbage, truncated and oversized packets and keeps serving', async (t) => {
    const broker = await startEmbeddedBroker({});
    t.after(() => broker.close());
    const hostile = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), // CONNECT with an invalid 5-byte remaining length (MQTT 3.1.1 §2.2.3)
      Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51]), // CONNECT cut short
      Buffer.from([0x30, 0x02, 0x00, 0x00]), // PUBLISH before CONNECT (§3.1.0-1)
    ];
    for (const bytes of hostile) {
      const s = connect(broker.port, '127.0.0.1');
      await once(s, 'connect');
      s.on('error', () => undefined);
      s.end(bytes);
      await once(s, 'close');
    }
    const w = await watch(broker.url, ['x']);
    t.after(() => w.close());
    assert.equal(w.client.connected, true);
  });

  it('close() is idempotent and frees the port', async () => {
    const broker = await startEmbeddedBroker({});
    await Promise.all([broker.close(), broker.close()]);
    await assert.rejects(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 2000 }), /ECONNREFUSED/);
  });
});
