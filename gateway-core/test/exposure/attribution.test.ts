import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ATTRIBUTION_LIMITS,
  attributeFindings,
  compareFinding,
  findingOf,
  parseAttributionReply,
  parseAttributionRequest,
  type AttributionFinding,
} from '../../src/exposure/attribution.js';
import { probeHttp } from '../../src/exposure/probes/http.js';
import { probeRtsp } from '../../src/exposure/probes/rtsp.js';
import type { PortMapping } from '../../src/exposure/audit/upnp.js';
import { closedPort, startHttpServer, startRtspServer } from '@camgate/test-helpers';

const FP = Array.from({ length: 32 }, (_, i) => (i % 16).toString(16).toUpperCase().padStart(2, '0')).join(':');

const probe = (host: string, port: number, protocol: AttributionFinding['protocol']) =>
  protocol === 'rtsp'
    ? probeRtsp(host, port)
    : protocol === 'https'
      ? probeHttp(host, port, { tls: true })
      : probeHttp(host, port);

describe('attribution messages', () => {
  describe('parseAttributionRequest', () => {
    it('accepts a well-formed request', () => {
      const req = parseAttributionRequest({
        type: 'exposure-attribute',
        id: 'abc123',
        findings: [{ port: 554, protocol: 'rtsp', server: 'Cam', realm: 'IP Camera', certFingerprint: FP }],
      });
      assert.equal(req.findings[0]?.realm, 'IP Camera');
    });

    for (const [name, msg, field] of [
      ['a wrong type', { type: 'flag', id: 'a', findings: [] }, /type/],
      ['an id with a slash', { type: 'exposure-attribute', id: 'a/b', findings: [] }, /id/],
      [
        'an unknown protocol',
        { type: 'exposure-attribute', id: 'a', findings: [{ port: 1, protocol: 'ssh' }] },
        /protocol/,
      ],
      ['port 0', { type: 'exposure-attribute', id: 'a', findings: [{ port: 0, protocol: 'tcp' }] }, /port/],
      [
        'an oversized banner',
        { type: 'exposure-attribute', id: 'a', findings: [{ port: 1, protocol: 'tcp', banner: 'x'.repeat(257) }] },
        /banner/,
      ],
      [
        'too many findings',
        {
          type: 'exposure-attribute',
          id: 'a',
          findings: Array.from({ length: ATTRIBUTION_LIMITS.findings + 1 }, () => ({ port: 1, protocol: 'tcp' })),
        },
        /findings/,
      ],
      [
        'an unknown field (a LAN address smuggled in)',
        { type: 'exposure-attribute', id: 'a', findings: [{ port: 1, protocol: 'tcp', host: '192.168.1.9' }] },
        /findings/,
      ],
      [
        'a lower-case fingerprint',
        {
          type: 'exposure-attribute',
          id: 'a',
          findings: [{ port: 1, protocol: 'https', certFingerprint: FP.toLowerCase() }],
        },
        /certFingerprint/,
      ],
      ['garbage', 'not an object', /root/],
    ] as const) {
      it(`refuses ${name}`, () => {
        assert.throws(
          () => parseAttributionRequest(msg),
          (err: Error) => err instanceof TypeError && field.test(err.message),
        );
      });
    }
  });

  describe('parseAttributionReply', () => {
    it('accepts camera ids and known methods only', () => {
      const r = parseAttributionReply({
        type: 'exposure-attribution',
        id: 'x1',
        matches: [{ port: 554, cameraId: 'porch', method: 'realm+server-header' }],
      });
      assert.equal(r.matches[0]?.method, 'realm+server-header');
      for (const bad of [
        { port: 554, cameraId: 'porch', method: 'guess' },
        { port: 554, cameraId: '../x', method: 'realm' },
        { port: 554, cameraId: 'porch', method: 'realm', host: '10.0.0.5' },
      ])
        assert.throws(
          () => parseAttributionReply({ type: 'exposure-attribution', id: 'x1', matches: [bad] }),
          TypeError,
        );
    });
  });
});

describe('compareFinding', () => {
  const base: AttributionFinding = { port: 554, protocol: 'rtsp', server: 'Cam/1', realm: 'R1' };
  it('names the fields that agreed', () => {
    assert.equal(compareFinding(base, { ...base, port: 10554 }), 'realm+server-header');
  });
  it('refuses a different realm, a different protocol, or nothing to compare', () => {
    assert.equal(compareFinding(base, { ...base, realm: 'R2' }), undefined);
    assert.equal(compareFinding(base, { ...base, protocol: 'http' }), undefined);
    assert.equal(compareFinding({ port: 1, protocol: 'tcp' }, { port: 1, protocol: 'tcp' }), undefined);
  });
  it('lets a certificate fingerprint decide alone', () => {
    const a: AttributionFinding = { port: 443, protocol: 'https', certFingerprint: FP, title: 'A' };
    assert.equal(
      compareFinding(a, { port: 443, protocol: 'https', certFingerprint: FP, title: 'B' }),
      'tls-certificate',
    );
    assert.equal(compareFinding(a, { port: 443, protocol: 'https', title: 'A' }), undefined);
  });
});

describe('attributeFindings', () => {
  it('matches what the hub saw to the one camera answering the same on the LAN (realm + Server)', async (t) => {
    const front = await startRtspServer({ mode: 'digest', realm: 'Front door', server: 'CamOS 1.0' });
    const garage = await startRtspServer({ mode: 'digest', realm: 'Garage', server: 'CamOS 1.0' });
    t.after(() => Promise.all([front.close(), garage.close()]));
    // What the outside saw through the forward: the garage camera's answer.
    const outside = findingOf(await probeRtsp('127.0.0.1', garage.port));
    assert.deepEqual([outside.realm, outside.server], ['Garage', 'CamOS 1.0']);
    const external = { ...outside, port: await closedPort() }; // the router's external port differs
    const matches = await attributeFindings(
      [external],
      [
        { id: 'front', host: '127.0.0.1', ports: [front.port] },
        { id: 'garage', host: '127.0.0.1', ports: [garage.port] },
      ],
      { probe },
    );
    assert.deepEqual(matches, [{ port: external.port, cameraId: 'garage', method: 'realm+server-header' }]);
  });

  it('leaves a finding unmatched when two cameras answer alike', async (t) => {
    const a = await startRtspServer({ mode: 'digest', realm: 'IP Camera', server: 'Same' });
    const b = await startRtspServer({ mode: 'digest', realm: 'IP Camera', server: 'Same' });
    t.after(() => Promise.all([a.close(), b.close()]));
    const outside = findingOf(await probeRtsp('127.0.0.1', a.port));
    const matches = await attributeFindings(
      [outside],
      [
        { id: 'a', host: '127.0.0.1', ports: [a.port] },
        { id: 'b', host: '127.0.0.1', ports: [b.port] },
      ],
      { probe },
    );
    assert.deepEqual(matches, []);
  });

  it('matches HTTPS by the certificate fingerprint', async (t) => {
    const a = await startHttpServer({ tlsCommonName: 'cam-a', title: 'Same title' });
    const b = await startHttpServer({ tlsCommonName: 'cam-b', title: 'Same title' });
    t.after(() => Promise.all([a.close(), b.close()]));
    const ev = await probeHttp('127.0.0.1', b.port, { tls: true });
    assert.match(String(ev.facts?.certFingerprint), /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
    // Both test "cameras" share 127.0.0.1: the outside port must be one neither serves on the LAN.
    const external = { ...findingOf(ev), port: await closedPort() };
    const matches = await attributeFindings(
      [external],
      [
        { id: 'a', host: '127.0.0.1', ports: [a.port] },
        { id: 'b', host: '127.0.0.1', ports: [b.port] },
      ],
      { probe },
    );
    assert.deepEqual(matches, [{ port: external.port, cameraId: 'b', method: 'tls-certificate' }]);
  });

  it('takes the router UPnP mapping (external port -> camera address) without probing', async () => {
    const mapping: PortMapping = {
      remoteHost: '',
      externalPort: 8554,
      protocol: 'TCP',
      internalPort: 554,
      internalClient: '192.0.2.11',
      enabled: true,
      description: 'cam',
      leaseDuration: 0,
    };
    let probes = 0;
    const matches = await attributeFindings(
      [{ port: 8554, protocol: 'rtsp', realm: 'IP Camera' }],
      [
        { id: 'front', host: '192.0.2.10', ports: [554] },
        { id: 'garage', host: '192.0.2.11', ports: [554] },
      ],
      {
        mappings: [mapping],
        probe: () => {
          probes++;
          return Promise.reject(new Error('not expected'));
        },
      },
    );
    assert.deepEqual(matches, [{ port: 8554, cameraId: 'garage', method: 'upnp-mapping' }]);
    assert.equal(probes, 0);
  });
});
