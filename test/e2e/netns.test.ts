/**
 * The paper's topology in network namespaces, as a real home has it
 * (the exposure monitor must be proven across real NAT): a home LAN behind a NAT router, and an "internet" with the
 * hub and an MQTT broker. Addresses (10.231.x.x) exist only inside the
 * namespaces this test creates; nothing leaves them.
 *
 *   home  10.231.1.2  camera sim :554, engine, gateway (dials out), FlagService → MQTT
 *     │ veth
 *   router 10.231.1.1 | 10.231.2.1  nftables: masquerade out, forward in only when DNAT'd; UPnP IGD on the LAN side
 *     │ veth
 *   internet 10.231.2.2  hub (exposure monitor), mosquitto :1883, an MQTT subscriber
 *
 * Requires root, iproute2 and nftables (CI installs them and runs as root).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NsProcess, sh, startFixture, uniqueSuffix } from './helpers/netns.js';

const HOME_IP = '10.231.1.2';
const ROUTER_LAN = '10.231.1.1';
const ROUTER_WAN = '10.231.2.1'; // the home's "public" address
const INET_IP = '10.231.2.2';
const MQTT_PORT = 1883;
const GATEWAY_ID = 'home';
const SECRET = 'netns-gateway-secret-7Pq2Wz';
const TOKEN = 'netns-api-token-Rk4Tx9Lm2Q';
const CLEAN_SCANS = 2;

const s = uniqueSuffix();
const NS = { home: `cg-home-${s}`, router: `cg-rtr-${s}`, inet: `cg-inet-${s}` };
const IF = { home: `cgh${s}`, routerLan: `cgrl${s}`, routerWan: `cgrw${s}`, inet: `cgi${s}` };

interface ScanReply {
  status: number;
  body: { target: string; open: { port: number; protocol: string; banner?: string; detail?: string }[] };
}

const ip = (...args: string[]): Promise<string> => sh('ip', args);

async function buildTopology(): Promise<void> {
  for (const ns of Object.values(NS)) await ip('netns', 'add', ns);
  await ip('link', 'add', IF.home, 'netns', NS.home, 'type', 'veth', 'peer', 'name', IF.routerLan, 'netns', NS.router);
  await ip('link', 'add', IF.routerWan, 'netns', NS.router, 'type', 'veth', 'peer', 'name', IF.inet, 'netns', NS.inet);
  const up = async (ns: string, dev: string, addr: string): Promise<void> => {
    await ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
    await ip('-n', ns, 'link', 'set', dev, 'up');
  };
  for (const ns of Object.values(NS)) await ip('-n', ns, 'link', 'set', 'lo', 'up');
  await up(NS.home, IF.home, `${HOME_IP}/24`);
  await up(NS.router, IF.routerLan, `${ROUTER_LAN}/24`);
  await up(NS.router, IF.routerWan, `${ROUTER_WAN}/24`);
  await up(NS.inet, IF.inet, `${INET_IP}/24`);
  // The home reaches the internet through the router; the internet has no route into the home.
  await ip('-n', NS.home, 'route', 'add', 'default', 'via', ROUTER_LAN);
  await sh('ip', ['netns', 'exec', NS.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  // A home router: masquerade outbound; inbound forwarding only for port forwards (DNAT).
  await sh(
    'ip',
    ['netns', 'exec', NS.router, 'nft', '-f', '-'],
    `table ip camgate {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "${IF.routerWan}" ip saddr 10.231.1.0/24 masquerade; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "${IF.routerLan}" oifname "${IF.routerWan}" accept; ct status dnat accept; }
}
`,
  );
}

const nft = (...args: string[]): Promise<string> => sh('ip', ['netns', 'exec', NS.router, 'nft', ...args]);
const addForward = (): Promise<string> =>
  nft(
    'add',
    'rule',
    'ip',
    'camgate',
    'prerouting',
    'iifname',
    IF.routerWan,
    'tcp',
    'dport',
    '554',
    'dnat',
    'to',
    `${HOME_IP}:554`,
  );
const removeForward = (): Promise<string> => nft('flush', 'chain', 'ip', 'camgate', 'prerouting');

/** Raised/cleared flag messages the subscriber saw for one flag id. */
function flagMessages(sub: NsProcess, id: string): { state: string; raisedAt: string; retain: boolean }[] {
  return sub.lines
    .filter((l) => l.event === 'message' && l.topic === `camgate/${GATEWAY_ID}/flags/${id}`)
    .map((l) => ({
      ...(JSON.parse(l.payload as string) as { state: string; raisedAt: string }),
      retain: l.retain as boolean,
    }));
}

describe('network namespaces: closed home, port forward, flags over MQTT', { timeout: 180_000 }, () => {
  const procs: NsProcess[] = [];
  let confDir = '';
  let hub: NsProcess;
  let home: NsProcess;
  let router: NsProcess;
  let sub: NsProcess;
  let mosquitto: NsProcess;
  let mosquittoConf = '';

  const startMosquitto = async (): Promise<NsProcess> => {
    const p = new NsProcess(NS.inet, ['/usr/sbin/mosquitto', '-c', mosquittoConf], 'mosquitto');
    procs.push(p);
    await p.waitStderr(/Opening ipv4 listen socket on port 1883/);
    return p;
  };

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('the netns test needs root (ip netns, nft); CI runs it as root');
    await buildTopology();
    confDir = await mkdtemp(join(tmpdir(), 'camgate-netns-'));
    mosquittoConf = join(confDir, 'mosquitto.conf');
    await writeFile(
      mosquittoConf,
      [
        `listener ${MQTT_PORT} ${INET_IP}`,
        'allow_anonymous true',
        'persistence false',
        'log_dest stderr',
        'log_type all',
        'user root',
        '',
      ].join('\n'),
    );
    mosquitto = await startMosquitto();
    const h = await startFixture(NS.inet, 'netns-hub.ts', {
      host: INET_IP,
      gatewayId: GATEWAY_ID,
      secret: SECRET,
      token: TOKEN,
      clearAfterCleanScans: CLEAN_SCANS,
    });
    hub = h.p;
    procs.push(hub);
    const r = await startFixture(NS.router, 'netns-router.ts', { host: ROUTER_LAN });
    router = r.p;
    procs.push(router);
    const m = await startFixture(NS.inet, 'netns-mqtt.ts', {
      url: `mqtt://${INET_IP}:${MQTT_PORT}`,
      filter: 'camgate/#',
    });
    sub = m.p;
    procs.push(sub);
    await sub.event('subscribed');
    const hubUrl = `${(h.ready.url as string).replace(/^http/, 'ws')}/tunnel`;
    const g = await startFixture(NS.home, 'netns-home.ts', {
      cameraHost: HOME_IP,
      hubUrl,
      gatewayId: GATEWAY_ID,
      secret: SECRET,
      mqttUrl: `mqtt://${INET_IP}:${MQTT_PORT}`,
      routerLan: ROUTER_LAN,
      ssdpPort: r.ready.ssdpPort,
    });
    home = g.p;
    procs.push(home);
  });

  after(async () => {
    // Every step in its own try: one failure must not leave namespaces or processes behind.
    for (const p of procs.reverse()) {
      try {
        await p.stop();
      } catch {
        p.child.kill('SIGKILL');
      }
    }
    for (const ns of Object.values(NS)) {
      try {
        await ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
    if (confDir) await rm(confDir, { recursive: true, force: true });
    const left = await ip('netns', 'list');
    assert.ok(!left.includes(s), `namespaces left behind: ${left}`);
  });

  it('1. closed network: the camera is unreachable from outside, the tunnel works, a scan finds nothing', async () => {
    const online = await hub.event('gateway', (l) => l.online === true);
    // The hub sees the router's address: the tunnel went out through the NAT.
    assert.equal(online.remoteAddress, ROUTER_WAN);
    await home.event('tunnel', (l) => l.state === 'connected');
    // No route from the internet into the home LAN.
    const direct = await hub.request<string>('connect', { host: HOME_IP, port: 554 });
    assert.ok(['ENETUNREACH', 'EHOSTUNREACH', 'timeout'].includes(direct), `direct connect: ${direct}`);
    assert.equal(await hub.request('connect', { host: ROUTER_WAN, port: 554 }), 'ECONNREFUSED');
    const scan = await hub.request<ScanReply>('scan');
    assert.equal(scan.status, 200, `scan answered ${scan.status}: ${JSON.stringify(scan.body)}`);
    assert.equal(scan.status, 200);
    assert.equal(scan.body.target, ROUTER_WAN);
    assert.deepEqual(scan.body.open, []);
    assert.deepEqual(await hub.request('flags'), []);
    await home.event('mqtt', (l) => l.connected === true);
    const audit = await home.request<{ checked: string[]; upnp: { mappings: unknown[] } }>('audit');
    assert.deepEqual(audit.checked.sort(), ['telnet-open', 'upnp-mapping']);
    assert.deepEqual(audit.upnp.mappings, []);
    assert.deepEqual(await home.request('flags'), []);
  });

  let exposedId = '';

  it('2. a port forward to the camera: exposed with the RTSP reply, over MQTT; the UPnP audit sees the mapping', async () => {
    await addForward();
    await router.request('map', {
      mapping: {
        externalPort: 554,
        protocol: 'TCP',
        internalPort: 554,
        internalClient: HOME_IP,
        description: 'camera',
      },
    });
    assert.equal(await hub.request('connect', { host: ROUTER_WAN, port: 554 }), 'open');
    const scan = await hub.request<ScanReply>('scan');
    assert.equal(scan.status, 200, `scan answered ${scan.status}: ${JSON.stringify(scan.body)}`);
    assert.equal(scan.status, 200);
    assert.deepEqual(
      scan.body.open.map((o) => [o.port, o.protocol]),
      [[554, 'rtsp']],
    );
    const flags = await hub.request<
      {
        id: string;
        kind: string;
        state: string;
        evidence: { port: number; protocol: string; banner?: string; detail?: string }[];
      }[]
    >('flags');
    assert.equal(flags.length, 1);
    const [flag] = flags;
    assert.equal(flag!.kind, 'exposed');
    assert.equal(flag!.state, 'raised');
    assert.equal(flag!.evidence[0]!.port, 554);
    assert.equal(flag!.evidence[0]!.protocol, 'rtsp');
    // The camera's own answer, seen from the internet: it wants a password (RFC 2326 §11.1 401).
    assert.match(`${flag!.evidence[0]!.banner} ${flag!.evidence[0]!.detail}`, /authentication required|401/);
    exposedId = flag!.id;
    // The gateway learned it through the tunnel, and its bridge published it to the broker on the internet side.
    await home.event('transition', (l) => l.id === exposedId && l.to === 'raised' && l.source === 'hub');
    await sub.event(
      'message',
      (l) => l.topic === `camgate/${GATEWAY_ID}/flags/${exposedId}` && /"raised"/.test(l.payload as string),
    );
    const exposure = await hub.request<{ state: string }>('exposure');
    assert.equal(exposure.state, 'exposed');
    // The LAN audit finds the same forward in the router's UPnP table.
    const audit = await home.request<{
      upnp: { mappings: { externalPort: number; internalClient: string }[] };
      observations: string[];
    }>('audit');
    assert.deepEqual(
      audit.upnp.mappings.map((m) => [m.externalPort, m.internalClient]),
      [[554, HOME_IP]],
    );
    assert.ok(audit.observations.includes('upnp-mapping'));
    const mapFlag = await home.event('transition', (l) => l.kind === 'upnp-mapping' && l.to === 'raised');
    await sub.event('message', (l) => l.topic === `camgate/${GATEWAY_ID}/flags/${mapFlag.id as string}`);
    // A subscriber arriving later gets the retained state.
    assert.ok(flagMessages(sub, exposedId).some((m) => m.state === 'raised'));
  });

  it(`3. the forward removed: the flag clears after ${CLEAN_SCANS} clean scans`, async () => {
    assert.ok(exposedId, 'step 2 raised a flag');
    await removeForward();
    await router.request('unmap');
    for (let i = 1; i <= CLEAN_SCANS; i++) {
      const scan = await hub.request<ScanReply>('scan');
      assert.equal(scan.status, 200, `scan answered ${scan.status}: ${JSON.stringify(scan.body)}`);
      assert.deepEqual(scan.body.open, []);
      const [f] = await hub.request<{ state: string }[]>('flags');
      assert.equal(f!.state, i < CLEAN_SCANS ? 'raised' : 'cleared', `after clean scan ${i}`);
    }
    await hub.event('transition', (l) => l.id === exposedId && l.to === 'cleared');
    await home.event('transition', (l) => l.id === exposedId && l.to === 'cleared');
    await sub.event(
      'message',
      (l) => l.topic === `camgate/${GATEWAY_ID}/flags/${exposedId}` && /"cleared"/.test(l.payload as string),
    );
  });

  it('4. the broker is down during a raise: the flag still arrives when it is back', async () => {
    const seenBefore = flagMessages(sub, exposedId).length;
    await mosquitto.stop();
    await home.event('mqtt', (l) => l.connected === false);
    const offlineAt = home.lines.length;
    await addForward();
    const scan = await hub.request<ScanReply>('scan');
    assert.equal(scan.status, 200, `scan answered ${scan.status}: ${JSON.stringify(scan.body)}`);
    assert.deepEqual(
      scan.body.open.map((o) => o.port),
      [554],
    );
    // The gateway has it (through the tunnel), while its bridge cannot publish.
    await home.waitFor(
      (l) => home.lines.indexOf(l) >= offlineAt && l.event === 'transition' && l.id === exposedId && l.to === 'raised',
      're-raise at the gateway',
    );
    assert.equal(flagMessages(sub, exposedId).length, seenBefore);
    mosquitto = await startMosquitto();
    // The re-raise keeps firstSeen from the first raise: raisedAt > firstSeen tells it from the step-2 message.
    const msg = await sub
      .waitFor((l) => {
        if (l.event !== 'message' || l.topic !== `camgate/${GATEWAY_ID}/flags/${exposedId}`) return false;
        const f = JSON.parse(l.payload as string) as { state: string; raisedAt: string; firstSeen: string };
        return f.state === 'raised' && f.raisedAt > f.firstSeen;
      }, 'the re-raised flag over MQTT')
      .catch((err: Error) => {
        const recent = home.lines.slice(-20).map((l) => JSON.stringify(l).slice(0, 240));
        throw new Error(`${err.message}\nthe home gateway's last lines:\n${recent.join('\n')}`);
      });
    assert.equal((JSON.parse(msg.payload as string) as { state: string }).state, 'raised');
    await removeForward();
  });
});
