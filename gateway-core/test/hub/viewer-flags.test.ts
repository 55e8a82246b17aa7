import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flagId, type Flag } from '../../src/alerts/index.js';
import type { GatewayStatus } from '../../src/hub/index.js';
import { viewerFlagsFor, VIEWER_FLAG_LIMITS } from '../../src/hub/viewer/flags.js';

const T0 = '2025-03-01T10:00:00.000Z';
const T1 = '2025-03-01T11:00:00.000Z';

function flag(over: Partial<Flag> & Pick<Flag, 'kind' | 'gatewayId'>): Flag {
  const cameraId = over.cameraId;
  const key = over.key ?? 'k';
  const out: Flag = {
    evidence: [],
    advice: 'advice from elsewhere',
    source: 'hub',
    id: flagId(over.kind, over.gatewayId, cameraId, key),
    state: 'raised',
    firstSeen: T0,
    lastSeen: T0,
    raisedAt: T0,
    cleanScans: 0,
    key,
    ...over,
  };
  if (cameraId === undefined) delete out.cameraId;
  return out;
}

const GATEWAYS: GatewayStatus[] = [
  {
    id: 'home-1',
    name: 'Home',
    online: true,
    since: T0,
    remoteAddress: '198.51.100.7',
    cameras: [
      { id: 'porch', name: 'Porch' },
      { id: 'garage', name: 'Garage' },
    ],
  },
  { id: 'home-2', name: undefined, online: false, since: undefined, remoteAddress: undefined, cameras: [] },
];

const FLAGS: Record<string, Flag[]> = {
  'home-1': [
    flag({
      kind: 'telnet-open',
      gatewayId: 'home-1',
      cameraId: 'porch',
      source: 'gateway',
      raisedAt: T1,
      evidence: [{ host: 'camera porch', port: 23, protocol: 'telnet', banner: 'BusyBox\\r\\nlogin:', at: T1 }],
      advice: '<script>alert(1)</script> call this number',
    }),
    flag({
      kind: 'exposed',
      gatewayId: 'home-1',
      key: 'port-554',
      evidence: [
        { host: '198.51.100.7', port: 554, protocol: 'rtsp', banner: 'RTSP/1.0 200 OK', detail: 'open stream', at: T0 },
      ],
    }),
    flag({ kind: 'upnp-mapping', gatewayId: 'home-1', cameraId: 'garage', source: 'gateway', state: 'cleared' }),
    // A flag that lies about its gateway is never shown under another gateway's name.
    flag({ kind: 'exposed', gatewayId: 'home-2', key: 'port-80' }),
  ],
  'home-2': [flag({ kind: 'secret-in-use', gatewayId: 'home-2', source: 'gateway' })],
};
const flagsFor = (id: string): Flag[] => FLAGS[id] ?? [];

describe('viewerFlagsFor', () => {
  it('shows camera flags to those granted the camera and home flags to anyone granted a camera there', () => {
    const all = viewerFlagsFor(['home-1/*'], GATEWAYS, flagsFor);
    assert.deepEqual(
      all.map((f) => `${f.kind}:${f.camera ?? 'home'}`),
      ['exposed:home', 'telnet-open:porch'],
      'exposing kinds first; cleared flags and foreign gateway ids left out',
    );
    const garageOnly = viewerFlagsFor(['home-1/garage'], GATEWAYS, flagsFor);
    assert.deepEqual(
      garageOnly.map((f) => f.kind),
      ['exposed'],
    );
    assert.deepEqual(viewerFlagsFor(['home-3/*'], GATEWAYS, flagsFor), []);
    assert.deepEqual(viewerFlagsFor([], GATEWAYS, flagsFor), []);
    assert.deepEqual(
      viewerFlagsFor(['home-2/x'], GATEWAYS, flagsFor).map((f) => `${f.gatewayName}:${f.title}`),
      ["home-2:Gateway's secret used elsewhere"],
    );
  });

  it('writes the title, evidence lines and advice itself, in plain words', () => {
    const [home, porch] = viewerFlagsFor(['home-1/*'], GATEWAYS, flagsFor);
    assert.deepEqual(home, {
      id: FLAGS['home-1']![1]!.id,
      gateway: 'home-1',
      gatewayName: 'Home',
      kind: 'exposed',
      source: 'hub',
      title: 'Reachable from the internet',
      evidence: ['Port 554 (RTSP), from the internet — answered: RTSP/1.0 200 OK — open stream'],
      advice:
        "Port 554 on your home's public address answers RTSP from the internet, so anyone can try to log in to a camera. " +
        'Remove the port forward on your router (or disable UPnP on the router), then wait for the next check to confirm it is closed. ' +
        'Watch your camera through camgate instead: it needs no open port.',
      raisedAt: T0,
    });
    assert.equal(porch?.camera, 'porch');
    assert.equal(porch?.cameraName, 'Porch');
    assert.deepEqual(porch?.evidence, ['Port 23 (TELNET), on your home network — answered: BusyBox · login:']);
    // The advice a gateway sent is not shown: the hub writes its own from the kind.
    assert.match(porch!.advice, /^The camera "Porch" accepts telnet connections/);
    assert.doesNotMatch(JSON.stringify(porch), /script|call this number/);
  });

  it("shows a camera's compromise flag (botnet behaviour seen by the canary) with the hub's own advice", () => {
    const compromise = flag({
      kind: 'compromise',
      gatewayId: 'home-1',
      cameraId: 'porch',
      source: 'gateway',
      key: 'canary',
      evidence: [{ host: 'camera porch', port: 23, protocol: 'canary', banner: 'root\\r\\nxc3511', at: T1 }],
    });
    const [shown] = viewerFlagsFor(['home-1/porch'], GATEWAYS, () => [compromise]);
    assert.equal(shown?.kind, 'compromise');
    assert.equal(shown?.camera, 'porch');
    assert.equal(shown?.title, 'Scanning the network like a botnet');
    for (const words of ['Isolate', 'Factory-reset', 'firmware', 'password'])
      assert.ok(shown!.advice.includes(words), `advice mentions ${words}: ${shown!.advice}`);
  });

  it('bounds evidence lines, their length and the flags per page', () => {
    const long = 'A'.repeat(1000);
    const evidence = Array.from({ length: 9 }, (_, i) => ({ host: 'h', port: 1000 + i, banner: long, at: T0 }));
    const many = Array.from({ length: VIEWER_FLAG_LIMITS.flagsPerPage + 50 }, (_, i) =>
      flag({ kind: 'exposed', gatewayId: 'home-1', key: `port-${i}`, evidence }),
    );
    const out = viewerFlagsFor(['home-1/*'], GATEWAYS, () => many);
    assert.equal(out.length, VIEWER_FLAG_LIMITS.flagsPerPage);
    assert.equal(out[0]!.evidence.length, VIEWER_FLAG_LIMITS.evidenceLines);
    assert.match(out[0]!.evidence[0]!, /^Port 1005, from the internet/, 'the newest evidence is kept');
    assert.equal(out[0]!.evidence[0]!.length, VIEWER_FLAG_LIMITS.lineChars);
    assert.ok(out[0]!.evidence[0]!.endsWith('…'));
  });
});
