import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/util/index.js';
import {
  DEFAULT_EXPOSURE_PORTS,
  protocolForPort,
  TargetPolicy,
  validatePorts,
  validateTarget,
} from '../../src/exposure/targets.js';

describe('targets', () => {
  describe('validateTarget', () => {
    it('accepts IP literals and strict hostnames, normalising', () => {
      assert.equal(validateTarget('127.0.0.1'), '127.0.0.1');
      assert.equal(validateTarget('::FFFF:127.0.0.1'), '127.0.0.1');
      assert.equal(validateTarget('2001:DB8::1'), '2001:db8::1');
      assert.equal(validateTarget('Home.Example.org.'), 'home.example.org');
    });
    it('refuses option- and shell-shaped strings', () => {
      for (const t of [
        '-oN /tmp/x',
        '-sS',
        'a b',
        '$(id)',
        ';rm',
        'a_b.example',
        '-host',
        'host-',
        '999.1.1.1',
        'a..b',
        42,
      ]) {
        assert.throws(
          () => validateTarget(t),
          (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_INVALID'),
          String(t),
        );
      }
    });
  });

  describe('TargetPolicy', () => {
    it('allows configured addresses, CIDRs and hostnames only', () => {
      const p = new TargetPolicy({ allow: ['203.0.113.0/24', '127.0.0.1', 'home.example.org', '2001:db8::/32'] });
      assert.equal(p.allows('203.0.113.77'), true);
      assert.equal(p.allows('203.0.114.1'), false);
      assert.equal(p.allows('127.0.0.1'), true);
      assert.equal(p.allows('127.0.0.2'), false);
      assert.equal(p.allows('HOME.example.org'), true);
      assert.equal(p.allows('2001:db8:ffff::1'), true);
      assert.equal(p.allows('2001:db9::1'), false);
      assert.equal(p.allows('$(id)'), false);
    });
    it('refuses a target outside the list with CAMGATE_EXPOSURE_TARGET_REFUSED', () => {
      const p = new TargetPolicy({ allow: ['127.0.0.1'] });
      assert.throws(
        () => p.check('198.51.100.9'),
        (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_REFUSED'),
      );
      assert.throws(
        () => p.check('-oN x'),
        (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_INVALID'),
      );
    });
    it('allows run-time registered tunnel addresses until unregistered (counted)', () => {
      const p = new TargetPolicy();
      assert.equal(p.allows('127.0.0.3'), false);
      p.register('::ffff:127.0.0.3');
      p.register('127.0.0.3');
      assert.equal(p.allows('127.0.0.3'), true);
      p.unregister('127.0.0.3');
      assert.equal(p.allows('127.0.0.3'), true);
      p.unregister('127.0.0.3');
      assert.equal(p.allows('127.0.0.3'), false);
      assert.throws(
        () => p.register('example.org'),
        (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_INVALID'),
      );
    });
    it('validates its options loudly', () => {
      assert.throws(
        () => new TargetPolicy({ allow: ['10.0.0.0/33'] }),
        /allow\[0\] must be an IP address, CIDR or hostname/,
      );
      assert.throws(() => new TargetPolicy({ allow: ['a b'] }), RangeError);
      assert.throws(() => new TargetPolicy({ allow: [5 as unknown as string] }), TypeError);
    });
  });

  it('has the documented default port set and protocol map', () => {
    assert.deepEqual(
      [...DEFAULT_EXPOSURE_PORTS].sort((a, b) => a - b),
      [23, 80, 443, 554, 2323, 8000, 8080, 8443, 8554, 34567, 37777],
    );
    assert.equal(protocolForPort(554), 'rtsp');
    assert.equal(protocolForPort(2323), 'telnet');
    assert.equal(protocolForPort(37777), 'tcp');
    assert.equal(protocolForPort(9000, { 9000: 'http' }), 'http');
    assert.deepEqual(validatePorts([80, 23, 80]), [23, 80]);
  });
});
