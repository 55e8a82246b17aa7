import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cameraIpv6Addresses, IPV6_LIMITS, isGlobalIpv6, parseNeighbours } from '../../src/exposure/ipv6.js';

describe('isGlobalIpv6', () => {
  for (const a of ['2001:db8::10', '2a00:1450:4001:80b::200e', '2606:4700::1111'])
    it(`accepts the global unicast address ${a}`, () => assert.equal(isGlobalIpv6(a), true));
  for (const a of [
    '::1', // loopback, RFC 4291 §2.5.3
    '::', // unspecified
    'fe80::1', // link-local
    'fd00::5', // unique local, RFC 4193
    'fec0::1', // site-local
    'ff02::1', // multicast
    '::ffff:192.168.1.5', // IPv4-mapped private
    '::ffff:8.8.8.8', // IPv4-mapped: not an IPv6 destination of its own
    '64:ff9b::10.0.0.1', // NAT64 of a private address
    '2001:db8::1%eth0', // zone id
    '[2001:db8::1]', // brackets
    '192.0.2.1',
    'camera.example',
    '',
    42,
  ])
    it(`refuses ${JSON.stringify(a)}`, () => assert.equal(isGlobalIpv6(a), false));
});

describe('parseNeighbours', () => {
  it('reads `ip neigh show` lines and skips what does not fit', () => {
    const text = [
      '10.0.0.10 dev eth0 lladdr 02:00:00:00:00:0A REACHABLE',
      '2001:db8:1::10 dev eth0 lladdr 02:00:00:00:00:0a STALE',
      'fe80::a dev eth0 lladdr 02:00:00:00:00:0a router STALE',
      '10.0.0.99 dev eth0 FAILED',
      'garbage line',
      '2001:db8::5 dev $(reboot) lladdr 02:00:00:00:00:0b STALE',
      '\u001b[31m',
    ].join('\n');
    assert.deepEqual(parseNeighbours(text), [
      { address: '10.0.0.10', dev: 'eth0', lladdr: '02:00:00:00:00:0a', state: 'REACHABLE' },
      { address: '2001:db8:1::10', dev: 'eth0', lladdr: '02:00:00:00:00:0a', state: 'STALE' },
      { address: 'fe80::a', dev: 'eth0', lladdr: '02:00:00:00:00:0a', state: 'STALE' },
      { address: '10.0.0.99', dev: 'eth0', state: 'FAILED' },
    ]);
  });

  it('parses at most IPV6_LIMITS.neighbours lines', () => {
    const text = Array.from(
      { length: IPV6_LIMITS.neighbours + 10 },
      (_, i) => `10.0.${i >> 8}.${i & 255} dev e0 STALE`,
    );
    assert.equal(parseNeighbours(text.join('\n')).length, IPV6_LIMITS.neighbours);
  });
});

describe('cameraIpv6Addresses', () => {
  it("finds each camera's global addresses through the MAC of its IPv4 neighbour entry", () => {
    const n = parseNeighbours(
      [
        '10.0.0.10 dev eth0 lladdr 02:00:00:00:00:0a REACHABLE',
        '10.0.0.11 dev eth0 lladdr 02:00:00:00:00:0b REACHABLE',
        '2001:db8:1::10 dev eth0 lladdr 02:00:00:00:00:0a STALE',
        'fe80::a dev eth0 lladdr 02:00:00:00:00:0a STALE',
        'fd00::a dev eth0 lladdr 02:00:00:00:00:0a STALE',
        '2001:db8:1::99 dev eth0 lladdr 02:00:00:00:00:99 STALE',
      ].join('\n'),
    );
    const found = cameraIpv6Addresses(
      [
        { id: 'front', host: '10.0.0.10' },
        { id: 'garage', host: '10.0.0.11' },
        { id: 'v6cam', host: '2001:db8:1::77' },
      ],
      n,
    );
    assert.deepEqual(
      [...found],
      [
        ['front', ['2001:db8:1::10']],
        ['v6cam', ['2001:db8:1::77']],
      ],
    );
  });

  it('keeps at most IPV6_LIMITS.perCamera addresses per camera', () => {
    const lines = ['10.0.0.10 dev e0 lladdr 02:00:00:00:00:0a REACHABLE'];
    for (let i = 1; i <= 10; i++) lines.push(`2001:db8::${i} dev e0 lladdr 02:00:00:00:00:0a STALE`);
    const found = cameraIpv6Addresses([{ id: 'c', host: '10.0.0.10' }], parseNeighbours(lines.join('\n')));
    assert.equal(found.get('c')?.length, IPV6_LIMITS.perCamera);
  });
});
