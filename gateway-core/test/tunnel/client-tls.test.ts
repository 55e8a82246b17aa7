import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TunnelClient, TunnelServer } from '../../src/tunnel/index.js';
import { makeSelfSignedCert, type SelfSignedCert } from '@camgate/test-helpers';
import { makeClient, verifierFor, waitEvent, waitState } from '../helpers/tunnel.js';

const SECRET = 'tls-test-secret-abcdefgh';

async function startTlsHub(cert: SelfSignedCert) {
  let calls = 0;
  const verifier = await verifierFor(SECRET);
  const server = new TunnelServer({
    lookupVerifier: (gatewayId) => {
      calls++;
      return gatewayId === 'gw1' ? verifier : undefined;
    },
  });
  const https = createServer({ cert: cert.cert, key: cert.key });
  https.on('upgrade', (req, socket, head) => server.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  const port = (https.address() as AddressInfo).port;
  return {
    url: `wss://localhost:${port}/tunnel`,
    authCalls: () => calls,
    async close() {
      await server.close();
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    },
  };
}

describe('TunnelClient', () => {
  describe('#constructor', () => {
    it('refuses ws:// to a non-loopback host without allowInsecure (throws, sends nothing)', () => {
      for (const url of ['ws://192.0.2.10/tunnel', 'ws://hub.example/tunnel', 'ws://[2001:db8::1]/tunnel']) {
        assert.throws(() => new TunnelClient({ url, gatewayId: 'gw1', secret: SECRET }), {
          code: 'CAMGATE_TUNNEL_INSECURE',
          message: /refusing plain ws:\/\/ to non-loopback host/,
        });
      }
    });

    it('allows ws:// to loopback, and elsewhere only with allowInsecure', () => {
      for (const url of ['ws://127.0.0.1:1/t', 'ws://127.9.9.9:1/t', 'ws://[::1]:1/t', 'ws://localhost:1/t']) {
        assert.equal(new TunnelClient({ url, gatewayId: 'gw1', secret: SECRET }).state, 'idle', url);
      }
      // Constructed only, never started: no traffic to the non-loopback address.
      const c = new TunnelClient({ url: 'ws://192.0.2.10/t', gatewayId: 'gw1', secret: SECRET, allowInsecure: true });
      assert.equal(c.state, 'idle');
    });

    it('rejects bad urls, credentials in urls, bad ids and bad pins with TypeError', () => {
      const base = { gatewayId: 'gw1', secret: SECRET };
      assert.throws(() => new TunnelClient({ ...base, url: 'http://127.0.0.1/' }), /must use wss:\/\//);
      assert.throws(() => new TunnelClient({ ...base, url: 'not a url' }), /not a valid URL/);
      assert.throws(() => new TunnelClient({ ...base, url: 'wss://u:p@hub.example/' }), /must not contain credentials/);
      assert.throws(() => new TunnelClient({ url: 'wss://h/', gatewayId: 'a b', secret: 's' }), /option gatewayId/);
      assert.throws(
        () => new TunnelClient({ ...base, url: 'wss://h/', tls: { fingerprint256: 'AB:CD' } }),
        /tls.fingerprint256 must be 32 hex byte pairs/,
      );
      assert.throws(() => new TunnelClient({ ...base, url: 'wss://h/', backoff: { jitter: 2 } }), {
        name: 'RangeError',
        message: 'TunnelClient: option backoff.jitter must be between 0 and 1, got 2',
      });
    });
  });

  describe('#tls', () => {
    let cert: SelfSignedCert;
    let other: SelfSignedCert;
    before(() => {
      cert = makeSelfSignedCert();
      other = makeSelfSignedCert();
    });

    it('refuses a self-signed certificate by default, retrying with CAMGATE_TUNNEL_TLS', async (t) => {
      const hub = await startTlsHub(cert);
      t.after(() => hub.close());
      const c = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET });
      t.after(() => c.close());
      c.start();
      const info = await waitState(c, 'reconnecting');
      assert.equal(info.code, 'CAMGATE_TUNNEL_TLS');
      assert.equal(info.reason, 'self-signed certificate');
      assert.equal(typeof info.nextRetryMs, 'number');
      assert.equal(hub.authCalls(), 0);
    });

    it('accepts the certificate when its CA is given', async (t) => {
      const hub = await startTlsHub(cert);
      t.after(() => hub.close());
      const c = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, tls: { ca: cert.cert } });
      t.after(() => c.close());
      c.start();
      await waitState(c, 'connected');
    });

    it('accepts a self-signed certificate whose pinned fingerprint matches (case-insensitive)', async (t) => {
      const hub = await startTlsHub(cert);
      t.after(() => hub.close());
      const pin = cert.fingerprint256.toLowerCase();
      const c = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, tls: { fingerprint256: pin } });
      t.after(() => c.close());
      c.start();
      await waitState(c, 'connected');
    });

    it('refuses a certificate that does not match the pin, before sending hello', async (t) => {
      const hub = await startTlsHub(cert);
      t.after(() => hub.close());
      const c = makeClient({
        url: hub.url,
        gatewayId: 'gw1',
        secret: SECRET,
        tls: { fingerprint256: other.fingerprint256 },
      });
      t.after(() => c.close());
      c.start();
      const [, info] = await waitEvent<[string, { code?: string; reason?: string }]>(
        c,
        'state',
        (s) => s === 'reconnecting',
      );
      assert.deepEqual(
        { code: info.code, reason: info.reason },
        {
          code: 'CAMGATE_TUNNEL_TLS',
          reason: 'certificate fingerprint mismatch',
        },
      );
      assert.equal(hub.authCalls(), 0, 'the secret never left the gateway');
    });
  });
});
