import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagStore } from '../../src/alerts/index.js';
import {
  auditDefaultCredentials,
  auditUpnp,
  authorization,
  DEFAULT_CREDENTIALS,
  discoverIgd,
  LanAudit,
  tryDefaults,
} from '../../src/exposure/audit/index.js';
import { createLogger, hasCode, memorySink } from '../../src/util/index.js';
import { closedPort, startHttpServer, startRtspServer, startTelnetServer } from '@camgate/test-helpers';
import { startIgdResponder } from '@camgate/test-helpers';

const HOST = '127.0.0.1';

describe('LAN audit', () => {
  describe('UPnP', () => {
    it('discovers the IGD by SSDP, walks the mappings until 713 and flags the camera mapping', async (t) => {
      const igd = await startIgdResponder({
        mappings: [
          {
            externalPort: 8554,
            protocol: 'TCP',
            internalPort: 554,
            internalClient: '192.168.1.64',
            description: 'IPC RTSP',
          },
          {
            externalPort: 51413,
            protocol: 'UDP',
            internalPort: 51413,
            internalClient: '192.168.1.20',
            description: 'torrent',
          },
        ],
      });
      t.after(() => igd.close());
      const cams = [{ id: 'porch', name: 'Porch', host: '192.168.1.64' }];
      const r = await auditUpnp('gw', cams, { ssdpAddress: HOST, ssdpPort: igd.ssdpPort });
      assert.equal(r.location, `http://127.0.0.1:${igd.httpPort}/desc.xml`);
      assert.equal(r.mappings.length, 2);
      assert.deepEqual(igd.soapCalls, [
        'GetGenericPortMappingEntry(0)',
        'GetGenericPortMappingEntry(1)',
        'GetGenericPortMappingEntry(2)',
      ]);
      assert.match(igd.searches[0] ?? '', /MAN: "ssdp:discover"/);
      assert.equal(r.observations.length, 1);
      const [o] = r.observations;
      assert.equal(o?.kind, 'upnp-mapping');
      assert.equal(o?.cameraId, 'porch');
      assert.equal(o?.key, 'tcp-8554');
      assert.match(
        o?.evidence[0]?.detail ?? '',
        /TCP external \*:8554 -> 192\.168\.1\.64:554 .*description="IPC RTSP"/,
      );
      assert.match(o?.advice ?? '', /UPnP/);
    });

    it('works with WANPPPConnection:1 too', async (t) => {
      const igd = await startIgdResponder({
        service: 'WANPPPConnection:1',
        mappings: [{ externalPort: 80, protocol: 'TCP', internalPort: 80, internalClient: '10.0.0.9' }],
      });
      t.after(() => igd.close());
      const r = await auditUpnp('gw', [{ id: 'c', host: '10.0.0.9' }], { ssdpAddress: HOST, ssdpPort: igd.ssdpPort });
      assert.equal(r.observations[0]?.key, 'tcp-80');
    });

    it('ignores a LOCATION that points away from the responder', async (t) => {
      const igd = await startIgdResponder({ location: (p) => `http://127.0.0.2:${p}/desc.xml` });
      t.after(() => igd.close());
      assert.equal(await discoverIgd({ ssdpAddress: HOST, ssdpPort: igd.ssdpPort, discoverTimeoutMs: 200 }), undefined);
    });

    it('resolves undefined when no IGD answers', async () => {
      assert.equal(
        await discoverIgd({ ssdpAddress: HOST, ssdpPort: await closedPort(), discoverTimeoutMs: 100 }),
        undefined,
      );
    });
  });

  describe('default credentials', () => {
    it('finds admin/admin over RTSP Digest and names only the pair index', async (t) => {
      const rtsp = await startRtspServer({ mode: 'digest', user: 'admin', pass: 'admin' });
      t.after(() => rtsp.close());
      const found = await auditDefaultCredentials(
        'gw',
        [{ id: 'cam', host: HOST, rtsp: { port: rtsp.port, path: '/live' } }],
        {
          attemptIntervalMs: 0,
        },
      );
      assert.equal(found.length, 1);
      const ev = found[0]?.evidence[0];
      assert.equal(ev?.protocol, 'rtsp');
      assert.match(ev?.detail ?? '', /RTSP Digest accepted factory-default pair #1 /);
      assert.doesNotMatch(JSON.stringify(found), /admin\/admin|"admin"|"pass|xmhdipc/);
      assert.equal(rtsp.authAttempts(), 1, 'stops at the first pair that works');
    });

    it('finds a later pair over RTSP Basic, one attempt per pair, rate-limited by the interval', async (t) => {
      const rtsp = await startRtspServer({ mode: 'basic', user: 'root', pass: 'xmhdipc' });
      t.after(() => rtsp.close());
      const hit = await tryDefaults('RTSP', HOST, rtsp.port, '/', { attemptIntervalMs: 1 });
      assert.deepEqual(hit, { index: 4, scheme: 'Basic' });
      assert.equal(rtsp.authAttempts(), 4);
    });

    it('finds admin/admin over HTTP Basic and reports nothing for a strong password', async (t) => {
      const weak = await startHttpServer({ basic: { user: 'admin', pass: 'admin' } });
      const strong = await startHttpServer({ basic: { user: 'admin', pass: 'correct horse battery staple' } });
      t.after(() => Promise.all([weak.close(), strong.close()]));
      const found = await auditDefaultCredentials(
        'gw',
        [
          { id: 'weak', host: HOST, http: { port: weak.port } },
          { id: 'strong', host: HOST, http: { port: strong.port } },
        ],
        { attemptIntervalMs: 0 },
      );
      assert.deepEqual(
        found.map((f) => [f.cameraId, f.key]),
        [['weak', `http-${weak.port}`]],
      );
      assert.equal(strong.authAttempts(), DEFAULT_CREDENTIALS.length);
    });

    it('tries nothing on an open stream', async (t) => {
      const rtsp = await startRtspServer({ mode: 'open' });
      t.after(() => rtsp.close());
      assert.equal(await tryDefaults('RTSP', HOST, rtsp.port, '/', { attemptIntervalMs: 0 }), undefined);
    });

    it('computes RFC 7616 Digest responses', () => {
      // RFC 2617 §3.5 example: Mufasa / Circle Of Life.
      const a = authorization(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
        'GET',
        '/dir/index.html',
        'Mufasa',
        'Circle Of Life',
      );
      assert.match(
        a ?? '',
        /^Digest username="Mufasa", realm="testrealm@host.com", .*qop=auth, nc=00000001, cnonce="[0-9a-f]{16}"/,
      );
      const noQop = authorization('Digest realm="r", nonce="n"', 'DESCRIBE', 'rtsp://h/', 'u', 'p');
      // MD5(MD5("u:r:p"):n:MD5("DESCRIBE:rtsp://h/"))
      assert.match(noQop ?? '', /response="[0-9a-f]{32}"/);
      assert.equal(authorization('Negotiate', 'GET', '/', 'u', 'p'), undefined);
    });
  });

  describe('LanAudit', () => {
    it('raises telnet-open and upnp-mapping (default-credentials off by default) and reconciles', async (t) => {
      const telnet = await startTelnetServer();
      const rtsp = await startRtspServer({ mode: 'digest', user: 'admin', pass: 'admin' });
      const igd = await startIgdResponder({
        mappings: [{ externalPort: 554, protocol: 'TCP', internalPort: 554, internalClient: HOST }],
      });
      const flags = await FlagStore.open({});
      t.after(() => Promise.all([telnet.close(), rtsp.close(), igd.close(), flags.close()]));
      const cameras = [
        { id: 'cam', name: 'Garage', host: HOST, telnetPorts: [telnet.port], rtsp: { port: rtsp.port } },
      ];
      const audit = new LanAudit({
        gatewayId: 'gw',
        cameras,
        flags,
        upnp: { ssdpAddress: HOST, ssdpPort: igd.ssdpPort },
      });
      const r = await audit.run();
      assert.deepEqual(r.checked, ['telnet-open', 'upnp-mapping']);
      assert.deepEqual(r.errors, []);
      assert.equal(rtsp.authAttempts(), 0, 'no login attempts unless opted in');
      const raised = flags.list({ state: 'raised' });
      assert.deepEqual(raised.map((f) => f.kind).sort(), ['telnet-open', 'upnp-mapping']);
      const tf = raised.find((f) => f.kind === 'telnet-open');
      assert.equal(tf?.source, 'gateway');
      assert.match(tf?.evidence[0]?.banner ?? '', /camera login: /);
      assert.match(tf?.advice ?? '', /Mirai/);

      const optIn = new LanAudit({
        gatewayId: 'gw',
        cameras,
        flags,
        telnet: { enabled: false },
        upnp: { enabled: false },
        defaultCredentials: { enabled: true, attemptIntervalMs: 0 },
      });
      const r2 = await optIn.run();
      assert.deepEqual(r2.checked, ['default-credentials']);
      assert.equal(flags.list({ state: 'raised', kind: 'default-credentials' }).length, 1);
      assert.equal(flags.list({ state: 'raised' }).length, 3, 'other kinds are out of scope and untouched');
    });

    it('a failing check is reported and clears nothing', async (t) => {
      const telnet = await startTelnetServer();
      const flags = await FlagStore.open({ clearAfterCleanScans: 1 });
      t.after(() => Promise.all([telnet.close(), flags.close()]));
      await flags.reconcile({ source: 'gateway', gatewayId: 'gw', kinds: ['upnp-mapping'] }, [
        {
          kind: 'upnp-mapping',
          gatewayId: 'gw',
          cameraId: 'cam',
          key: 'tcp-1',
          evidence: [{ host: HOST, at: new Date().toISOString() }],
          advice: 'x',
          source: 'gateway',
        },
      ]);
      const sink = memorySink();
      // An IGD whose description URL answers 404: the UPnP check fails.
      const igd = await startIgdResponder({ location: (p) => `http://127.0.0.1:${p}/missing.xml` });
      t.after(() => igd.close());
      const audit = new LanAudit({
        gatewayId: 'gw',
        cameras: [{ id: 'cam', host: HOST, telnetPorts: [telnet.port] }],
        flags,
        upnp: { ssdpAddress: HOST, ssdpPort: igd.ssdpPort },
        logger: createLogger('test', sink),
      });
      const r = await audit.run();
      assert.deepEqual(r.checked, ['telnet-open']);
      assert.equal(r.errors[0]?.kind, 'upnp-mapping');
      assert.ok(hasCode(r.errors[0]?.error, 'CAMGATE_AUDIT_UPNP'), String(r.errors[0]?.error));
      assert.equal(flags.list({ state: 'raised', kind: 'upnp-mapping' }).length, 1);
      assert.equal(sink.records.filter((x) => x.msg === 'audit check failed').length, 1);
    });

    it('validates its options', () => {
      assert.throws(() => new LanAudit({ gatewayId: '', cameras: [] }), TypeError);
      assert.throws(
        () => new LanAudit({ gatewayId: 'g', cameras: [{ id: 'c', host: '$(id)' }] }),
        /cameras\[0\]\.host/,
      );
      assert.throws(
        () => new LanAudit({ gatewayId: 'g', cameras: [{ id: 'c', host: HOST, rtsp: { port: 0 } }] }),
        /cameras\[0\]\.rtsp\.port must be an integer from 1 to 65535, got 0/,
      );
    });
  });
});
