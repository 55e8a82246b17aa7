import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bareHost,
  classifyHost,
  isLanAddress,
  isLoopbackHost,
  isMdnsName,
  type HostClass,
} from '../../src/util/host-class.js';

function expectAll(cases: Record<string, HostClass>): void {
  for (const [host, want] of Object.entries(cases)) assert.equal(classifyHost(host), want, host);
}

describe('classifyHost', () => {
  it('loopback: 127.0.0.0/8, ::1, localhost (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3, RFC 6761 §6.3)', () => {
    expectAll({
      '127.0.0.1': 'loopback',
      '127.255.255.254': 'loopback',
      '::1': 'loopback',
      '[::1]': 'loopback',
      '0:0:0:0:0:0:0:1': 'loopback',
      '::ffff:127.0.0.1': 'loopback',
      '[::ffff:7f00:1]': 'loopback',
      localhost: 'loopback',
      'LocalHost.': 'loopback',
      'app.localhost': 'loopback',
    });
  });

  it('a name that starts with 127 or contains localhost is a name, not loopback', () => {
    expectAll({
      '127.attacker.example': 'name',
      '127.0.0.1.nip.io': 'name',
      'localhost.evil.example': 'name',
      mylocalhost: 'name',
    });
  });

  it('private: RFC 1918, RFC 6598 shared space, RFC 4193 ULA, deprecated site-local', () => {
    expectAll({
      '10.0.0.1': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '172.32.0.1': 'public',
      '172.15.255.255': 'public',
      '192.168.1.20': 'private',
      '100.64.0.1': 'private',
      '100.127.255.255': 'private',
      '100.128.0.1': 'public',
      'fc00::1': 'private',
      'fd12:3456:789a::1': 'private',
      'fec0::1': 'private',
      '::ffff:192.168.1.1': 'private',
      '::ffff:c0a8:101': 'private',
      '64:ff9b::10.0.0.1': 'private',
    });
  });

  it('link-local: 169.254/16 (RFC 3927), fe80::/10 (RFC 4291 §2.5.6), with or without a zone', () => {
    expectAll({
      '169.254.169.254': 'link-local',
      'fe80::1': 'link-local',
      'fe80::1%eth0': 'link-local',
      'febf::1': 'link-local',
      '::ffff:169.254.1.1': 'link-local',
    });
  });

  it('special: unspecified, multicast, reserved, broadcast', () => {
    expectAll({
      '0.0.0.0': 'special',
      '0.1.2.3': 'special',
      '::': 'special',
      '224.0.0.1': 'special',
      '239.255.255.250': 'special',
      '240.0.0.1': 'special',
      '255.255.255.255': 'special',
      'ff02::1': 'special',
    });
  });

  it('public: everything else that is an IP literal', () => {
    expectAll({
      '8.8.8.8': 'public',
      '192.0.2.10': 'public',
      '203.0.113.5': 'public',
      '2001:db8::1': 'public',
      '[2606:4700::1111]': 'public',
      '::ffff:8.8.8.8': 'public',
      '64:ff9b::8.8.8.8': 'public',
    });
  });

  it('names, including mDNS .local names', () => {
    expectAll({
      'hub.example.com': 'name',
      'turn.example.com.': 'name',
      '4b7c5a6e-1f2d-4c3b-9a8e-0d1c2b3a4f5e.local': 'name',
      _stun: 'name',
    });
  });

  it('invalid: empty, too long, ports, paths, spaces, bare digits, bad brackets, non-strings', () => {
    for (const h of [
      '',
      'a'.repeat(256),
      'host:80',
      'a/b',
      'a b',
      '127.1',
      '2130706433',
      '[example.com]',
      '[::1',
      '-lead.example',
      'a..b',
      undefined,
      null,
      42,
    ]) {
      assert.equal(classifyHost(h), 'invalid', String(h));
    }
  });
});

describe('isLoopbackHost / isLanAddress / isMdnsName / bareHost', () => {
  it('isLoopbackHost is true only for loopback', () => {
    assert.equal(isLoopbackHost('127.0.0.1'), true);
    assert.equal(isLoopbackHost('[::1]'), true);
    assert.equal(isLoopbackHost('127.attacker.example'), false);
    assert.equal(isLoopbackHost('10.0.0.1'), false);
  });

  it('isLanAddress covers loopback, private and link-local literals, not names or public addresses', () => {
    for (const h of ['127.0.0.1', '10.1.2.3', '192.168.0.10', '169.254.1.1', 'fe80::1', 'fd00::5', '::ffff:10.0.0.1']) {
      assert.equal(isLanAddress(h), true, h);
    }
    for (const h of ['8.8.8.8', '2001:db8::1', 'example.com', 'x.local', '0.0.0.0', '224.0.0.1', '']) {
      assert.equal(isLanAddress(h), false, h);
    }
  });

  it('isMdnsName recognises .local names only (RFC 6762 §3)', () => {
    assert.equal(isMdnsName('4b7c5a6e-1f2d-4c3b-9a8e-0d1c2b3a4f5e.local'), true);
    assert.equal(isMdnsName('printer.LOCAL.'), true);
    assert.equal(isMdnsName('local'), false);
    assert.equal(isMdnsName('example.com'), false);
    assert.equal(isMdnsName('192.168.1.1'), false);
  });

  it('bareHost strips URL brackets and one trailing dot', () => {
    assert.equal(bareHost('[::1]'), '::1');
    assert.equal(bareHost('example.com.'), 'example.com');
    assert.equal(bareHost('example.com'), 'example.com');
  });
});
