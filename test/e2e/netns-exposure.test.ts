/**
 * Issue 13 end to end, in network namespaces: a home LAN (the gateway and two
 * cameras, each its own host) behind an nftables router doing IPv4 NAT and an
 * IPv6 firewall, and an "internet" with the hub (outside monitor) and an MQTT
 * broker. IPv4 10.231.x.x and IPv6 documentation prefixes (2001:db8::/32,
 * RFC 3849) exist only inside the namespaces this test creates.
 *
 *   gateway 10.231.1.2  2001:db8:1::2 ─┐
 *   frontdoor 10.231.1.10 2001:db8:1::10 ─┤ br0 (router LAN 10.231.1.1, 2001:db8:1::1)
 *   garage    10.231.1.11 2001:db8:1::11 ─┘   nft: v4 masquerade out, in only DNAT'd; v6 forward in only
 *                                             by explicit allow rules; UPnP IGD on the LAN side
 *   internet 10.231.2.2 2001:db8:2::2: hub (nmap + probes), mosquitto, an MQTT watcher
 *
 * Surfaces checked: the MQTT flag and per-camera exposure topics (retained),
 * the Home Assistant binary_sensor of the camera (its discovery config's
 * state topic and value template), the camera's flag badge in the hub's
 * viewer, read in Chromium running in the internet namespace, and the
 * camera's HomeKit exposure sensor of Homebridge (homebridge-camgate fed by
 * the MQTT flags) read by hap-controller. A forward to a LAN service that is
 * no camera (the router's own web server) raises a flag of the whole home,
 * checked on its surfaces: the Home Assistant "Home network exposure"
 * binary_sensor, the viewer's home banner and the HomeKit home sensor.
 * A second gateway of the home runs inside a real Node-RED
 * (node-red-contrib-camgate, fixtures/netns-nodered.ts) from the same LAN
 * address: the hub scans it too, its own ExposureResponder names the camera,
 * and its camgate-flags output and camgate-exposure status show the flag.
 * Requires root, iproute2, nftables and /usr/bin/chromium.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addUser } from '@camgate/core';
import { NsProcess, sh, startFixture, uniqueSuffix, type Line } from './helpers/netns.js';

const LAN4 = '10.231.1';
const LAN6 = '2001:db8:1:';
const ROUTER_LAN = `${LAN4}.1`;
const ROUTER_WAN = '10.231.2.1';
const ROUTER_WAN6 = '2001:db8:2::1';
const INET_IP = '10.231.2.2';
const INET_IP6 = '2001:db8:2::2';
const GW_IP = `${LAN4}.2`;
const GW_IP6 = `${LAN6}:2`;
const CAMS = {
  frontdoor: { name: 'Front door', ip: `${LAN4}.10`, ip6: `${LAN6}:10` },
  garage: { name: 'Garage', ip: `${LAN4}.11`, ip6: `${LAN6}:11` },
} as const;
type CamId = keyof typeof CAMS;
/** The garage camera's user-named service port (camera option "service ports"): the hub adds it to its scan. */
const GARAGE_SERVICE_PORT = 10554;
const MQTT_PORT = 1883;
const GATEWAY_ID = 'home';
const SECRET = 'netns-gateway-secret-7Pq2Wz';
/** The second gateway of the home: a Node-RED runtime with the camgate nodes (fixtures/netns-nodered.ts). */
const NR_GATEWAY_ID = 'home-nodered';
const NR_SECRET = 'netns-nodered-secret-3Vb8Yq';
const TOKEN = 'netns-api-token-Rk4Tx9Lm2Q';
const CAMERA_USER = 'viewer';
const CAMERA_PASSWORD = 'cam-pass-8Hq2Lr';
const CLEAN_SCANS = 2;
/** A person who may watch every camera of the home: the viewer in Chromium shows them the flags. */
const VIEWER = { name: 'netns-alice', password: 'netns-alice-Pw-5Tz8' };

const s = uniqueSuffix();
const NS = {
  router: `cg-xr-${s}`,
  gw: `cg-xg-${s}`,
  frontdoor: `cg-xf-${s}`,
  garage: `cg-xc-${s}`,
  inet: `cg-xi-${s}`,
};
const IF = {
  gw: `cgxg${s}`,
  gwBr: `cgbg${s}`,
  frontdoor: `cgxf${s}`,
  frontdoorBr: `cgbf${s}`,
  garage: `cgxc${s}`,
  garageBr: `cgbc${s}`,
  wan: `cgxw${s}`,
  inet: `cgxi${s}`,
  br: `cgbr${s}`,
};

const ip = (...args: string[]): Promise<string> => sh('ip', args);
const inNs = (ns: string, ...argv: string[]): Promise<string> => sh('ip', ['netns', 'exec', ns, ...argv]);
const nft = (...args: string[]): Promise<string> => inNs(NS.router, 'nft', ...args);

async function buildTopology(): Promise<void> {
  for (const ns of Object.values(NS)) await ip('netns', 'add', ns);
  for (const ns of Object.values(NS)) await ip('-n', ns, 'link', 'set', 'lo', 'up');
  await ip('-n', NS.router, 'link', 'add', IF.br, 'type', 'bridge');
  await ip('-n', NS.router, 'link', 'set', IF.br, 'up');
  const lanHost = async (ns: string, dev: string, brPort: string, v4: string, v6: string): Promise<void> => {
    await ip('link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', brPort, 'netns', NS.router);
    await ip('-n', NS.router, 'link', 'set', brPort, 'master', IF.br);
    await ip('-n', NS.router, 'link', 'set', brPort, 'up');
    await ip('-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev);
    // nodad: the address is usable at once (duplicate address detection would hold it back a second or two).
    await ip('-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad');
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', ns, 'route', 'add', 'default', 'via', ROUTER_LAN);
    await ip('-n', ns, '-6', 'route', 'add', 'default', 'via', `${LAN6}:1`);
  };
  await ip('-n', NS.router, 'addr', 'add', `${ROUTER_LAN}/24`, 'dev', IF.br);
  await ip('-n', NS.router, '-6', 'addr', 'add', `${LAN6}:1/64`, 'dev', IF.br, 'nodad');
  await lanHost(NS.gw, IF.gw, IF.gwBr, GW_IP, GW_IP6);
  await lanHost(NS.frontdoor, IF.frontdoor, IF.frontdoorBr, CAMS.frontdoor.ip, CAMS.frontdoor.ip6);
  await lanHost(NS.garage, IF.garage, IF.garageBr, CAMS.garage.ip, CAMS.garage.ip6);
  await ip('link', 'add', IF.wan, 'netns', NS.router, 'type', 'veth', 'peer', 'name', IF.inet, 'netns', NS.inet);
  await ip('-n', NS.router, 'addr', 'add', `${ROUTER_WAN}/24`, 'dev', IF.wan);
  await ip('-n', NS.router, '-6', 'addr', 'add', `${ROUTER_WAN6}/64`, 'dev', IF.wan, 'nodad');
  await ip('-n', NS.router, 'link', 'set', IF.wan, 'up');
  await ip('-n', NS.inet, 'addr', 'add', `${INET_IP}/24`, 'dev', IF.inet);
  await ip('-n', NS.inet, '-6', 'addr', 'add', `${INET_IP6}/64`, 'dev', IF.inet, 'nodad');
  await ip('-n', NS.inet, 'link', 'set', IF.inet, 'up');
  // IPv6 has no NAT: the internet routes the home's prefix to the router, whose firewall decides.
  await ip('-n', NS.inet, '-6', 'route', 'add', `${LAN6}:/64`, 'via', ROUTER_WAN6);
  await inNs(NS.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  await inNs(NS.router, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1');
  // A home router. IPv4: masquerade out, forward in only what a port forward (DNAT) names. IPv6: forward in only
  // what an explicit allow rule names (chain `allow`). Traffic inside the LAN bridge passes (br_netfilter may send
  // bridged packets through these hooks).
  await sh(
    'ip',
    ['netns', 'exec', NS.router, 'nft', '-f', '-'],
    `table ip camgate {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "${IF.wan}" ip saddr ${LAN4}.0/24 masquerade; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "${IF.br}" accept; ct status dnat accept; }
}
table ip6 camgate6 {
  chain allow { }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "${IF.br}" accept; iifname "${IF.wan}" jump allow; }
}
`,
  );
}

/** A port forward: external TCP port on the router's WAN address -> camera:port. */
const addForward = (external: number, cam: CamId, port: number): Promise<string> =>
  nft(
    'add',
    'rule',
    'ip',
    'camgate',
    'prerouting',
    'iifname',
    IF.wan,
    'tcp',
    'dport',
    String(external),
    'dnat',
    'to',
    `${CAMS[cam].ip}:${port}`,
  );
const removeForwards = (): Promise<string> => nft('flush', 'chain', 'ip', 'camgate', 'prerouting');
const allowV6 = (cam: CamId, port: number): Promise<string> =>
  nft('add', 'rule', 'ip6', 'camgate6', 'allow', 'ip6', 'daddr', CAMS[cam].ip6, 'tcp', 'dport', String(port), 'accept');
const removeV6Allows = (): Promise<string> => nft('flush', 'chain', 'ip6', 'camgate6', 'allow');

interface HubFlag {
  id: string;
  gatewayId: string;
  kind: string;
  state: string;
  cameraId?: string;
  key?: string;
  evidence: { host: string; port?: number; protocol?: string; detail?: string }[];
}
interface ScanReply {
  status: number;
  body: { target: string; ports: number[]; open: { host: string; port: number; protocol: string }[] };
}

describe(
  'network namespaces: exposure attributed to the camera, over IPv4 and IPv6, on MQTT, Home Assistant, the viewer and HomeKit',
  {
    timeout: 600_000,
  },
  () => {
    const procs: NsProcess[] = [];
    const cameraProcs: NsProcess[] = [];
    let confDir = '';
    let hub: NsProcess;
    let gw: NsProcess;
    let router: NsProcess;
    /** The router's own UPnP web server on the LAN: a service that is no camera. */
    let routerHttpPort = 0;
    let watch: NsProcess;
    let viewer: NsProcess;
    let homebridge: NsProcess;
    let nodered: NsProcess;
    let mosquitto: NsProcess;
    let mosquittoConf = '';
    /** Time from a forward appearing to each surface showing it, per step (printed at the end). */
    const timings: Record<string, Record<string, number>> = {};

    const startMosquitto = async (): Promise<NsProcess> => {
      const p = new NsProcess(NS.inet, ['/usr/sbin/mosquitto', '-c', mosquittoConf], 'mosquitto');
      procs.push(p);
      await p.waitStderr(/Opening ipv4 listen socket on port 1883/);
      return p;
    };

    const scan = async (): Promise<ScanReply['body']> => {
      const r = await hub.request<ScanReply>('scan');
      assert.equal(r.status, 200, `scan answered ${r.status}: ${JSON.stringify(r.body)}`);
      // The Node-RED gateway is online from the same public address: the hub scans it too (its flags are its own).
      const n = await hub.request<ScanReply>('scan', { gatewayId: NR_GATEWAY_ID });
      assert.equal(n.status, 200, `scan of the Node-RED gateway answered ${n.status}: ${JSON.stringify(n.body)}`);
      return r.body;
    };
    const allHubFlags = (): Promise<HubFlag[]> => hub.request<HubFlag[]>('flags');
    const hubFlags = async (): Promise<HubFlag[]> => (await allHubFlags()).filter((f) => f.gatewayId === GATEWAY_ID);
    const nrHubFlags = async (): Promise<HubFlag[]> =>
      (await allHubFlags()).filter((f) => f.gatewayId === NR_GATEWAY_ID);
    const after_ = (p: NsProcess, from: number) => (pred: (l: Line) => boolean) => (l: Line) =>
      p.lines.indexOf(l) >= from && pred(l);

    /**
     * Waits until the raised (or cleared) flag of `cam` shows on every surface, from line positions taken before
     * the change, and returns when each showed it (ms since `t0`).
     */
    async function surfaces(
      flagId: string,
      cam: CamId,
      to: 'raised' | 'cleared',
      t0: number,
      marks: { hub: number; gw: number; watch: number; viewer: number; homebridge: number; nodered: number },
    ): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      const h = await hub.waitFor(
        after_(hub, marks.hub)((l) => l.event === 'transition' && l.id === flagId && l.to === to),
        `hub ${to} ${flagId}`,
      );
      out.hub = (h.at as number) - t0;
      const g = await gw.waitFor(
        after_(gw, marks.gw)((l) => l.event === 'transition' && l.id === flagId && l.to === to),
        `gateway ${to} ${flagId}`,
      );
      assert.equal(g.camera, cam);
      out.gateway = (g.at as number) - t0;
      const flagMsg = await watch.waitFor(
        after_(
          watch,
          marks.watch,
        )(
          (l) =>
            l.event === 'message' &&
            l.topic === `camgate/${GATEWAY_ID}/flags/${flagId}` &&
            (JSON.parse(l.payload as string) as { state: string }).state === to,
        ),
        `MQTT flag ${to}`,
      );
      out.mqttFlag = (flagMsg.at as number) - t0;
      // The Home Assistant entity of the camera: its discovery config names the state topic and the template.
      const disco = await watch.waitFor(
        (l) =>
          l.event === 'message' &&
          l.topic === `homeassistant/binary_sensor/camgate_${GATEWAY_ID}_${cam}/config` &&
          (l.payload as string).length > 0,
        `Home Assistant discovery of ${cam}`,
      );
      const config = JSON.parse(disco.payload as string) as {
        state_topic: string;
        value_template: string;
        device_class: string;
        availability_topic: string;
      };
      assert.equal(config.device_class, 'problem');
      assert.equal(config.value_template, "{{ 'ON' if value_json.state in ['exposed', 'at-risk'] else 'OFF' }}");
      const want = to === 'raised' ? 'ON' : 'OFF';
      const state = await watch.waitFor(
        after_(
          watch,
          marks.watch,
        )((l) => {
          if (l.event !== 'message' || l.topic !== config.state_topic) return false;
          // Home Assistant's evaluation of that template, on the payload it receives.
          const v = JSON.parse(l.payload as string) as { state: string; flags: string[] };
          const ha = ['exposed', 'at-risk'].includes(v.state) ? 'ON' : 'OFF';
          return ha === want && (to === 'cleared' || v.flags.includes(flagId));
        }),
        `Home Assistant ${cam} ${want}`,
      );
      out.homeAssistant = (state.at as number) - t0;
      // The viewer in Chromium: the camera's badge appears (with the exposure in words) or goes.
      const shown = await viewer.waitFor(
        after_(
          viewer,
          marks.viewer,
        )((l) => {
          if (l.event !== 'viewer') return false;
          const badge = (l.cameras as Record<string, string>)[cam];
          return to === 'raised' ? /Reachable from the internet/.test(badge ?? '') : badge === undefined;
        }),
        `viewer badge of ${cam} ${to === 'raised' ? 'shown' : 'gone'}`,
      );
      // The flag names the camera, so it is the camera's badge and not the home banner.
      assert.equal(shown.home, '', `no home banner for a flag naming ${cam}`);
      out.viewerBadge = (shown.at as number) - t0;
      // HomeKit, read by hap-controller: the camera's contact sensor opens (1, CONTACT_NOT_DETECTED) or closes (0).
      const hk = await homebridge.waitFor(
        after_(
          homebridge,
          marks.homebridge,
        )((l) => l.event === 'homekit' && (l.sensors as Record<string, number>)[cam] === (to === 'raised' ? 1 : 0)),
        `HomeKit sensor of ${cam} ${to === 'raised' ? 'open' : 'closed'}`,
      );
      // A flag naming the camera leaves the home-wide sensor closed.
      assert.equal((hk.sensors as Record<string, number>).home, 0, 'the home sensor stays closed');
      out.homeKit = (hk.at as number) - t0;
      return out;
    }

    /**
     * Like `surfaces`, for a flag that names no camera: the home-wide surfaces — the MQTT flag topic, the Home
     * Assistant "Home network exposure" binary_sensor, the viewer's home banner and the HomeKit home sensor (which,
     * by core's MqttBridge rule, opens every camera's sensor too).
     */
    async function homeSurfaces(
      flagId: string,
      to: 'raised' | 'cleared',
      t0: number,
      m: ReturnType<typeof marks>,
    ): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      const h = await hub.waitFor(
        after_(hub, m.hub)((l) => l.event === 'transition' && l.id === flagId && l.to === to),
        `hub ${to} ${flagId}`,
      );
      out.hub = (h.at as number) - t0;
      const g = await gw.waitFor(
        after_(gw, m.gw)((l) => l.event === 'transition' && l.id === flagId && l.to === to),
        `gateway ${to} ${flagId}`,
      );
      assert.equal(g.camera, undefined, 'the gateway holds it as a flag of the whole home');
      out.gateway = (g.at as number) - t0;
      const flagMsg = await watch.waitFor(
        after_(
          watch,
          m.watch,
        )(
          (l) =>
            l.event === 'message' &&
            l.topic === `camgate/${GATEWAY_ID}/flags/${flagId}` &&
            (JSON.parse(l.payload as string) as { state: string }).state === to,
        ),
        `MQTT flag ${to}`,
      );
      out.mqttFlag = (flagMsg.at as number) - t0;
      const disco = await watch.waitFor(
        (l) =>
          l.event === 'message' &&
          l.topic === `homeassistant/binary_sensor/camgate-home_${GATEWAY_ID}/config` &&
          (l.payload as string).length > 0,
        'Home Assistant discovery of the home sensor',
      );
      const config = JSON.parse(disco.payload as string) as {
        name: string;
        state_topic: string;
        value_template: string;
        device_class: string;
        availability: { topic: string }[];
      };
      assert.equal(config.name, 'Home network exposure');
      assert.equal(config.device_class, 'problem');
      assert.equal(config.state_topic, `camgate/${GATEWAY_ID}/home-exposure`);
      // Available while the gateway and its MQTT bridge are online.
      assert.deepEqual(
        config.availability.map((x) => x.topic),
        [`camgate/${GATEWAY_ID}/status`, `camgate/${GATEWAY_ID}/bridge`],
      );
      assert.equal(config.value_template, "{{ 'ON' if value_json.state in ['exposed', 'at-risk'] else 'OFF' }}");
      const want = to === 'raised' ? 'ON' : 'OFF';
      const state = await watch.waitFor(
        after_(
          watch,
          m.watch,
        )((l) => {
          if (l.event !== 'message' || l.topic !== config.state_topic) return false;
          const v = JSON.parse(l.payload as string) as { state: string };
          return (['exposed', 'at-risk'].includes(v.state) ? 'ON' : 'OFF') === want;
        }),
        `Home Assistant home sensor ${want}`,
      );
      out.homeAssistantHome = (state.at as number) - t0;
      const shown = await viewer.waitFor(
        after_(
          viewer,
          m.viewer,
        )((l) => l.event === 'viewer' && (to === 'raised' ? /Reachable/.test(l.home as string) : l.home === '')),
        `viewer home banner ${to === 'raised' ? 'shown' : 'gone'}`,
      );
      out.viewerBanner = (shown.at as number) - t0;
      const open = to === 'raised' ? 1 : 0;
      const hk = await homebridge.waitFor(
        after_(
          homebridge,
          m.homebridge,
        )((l) => l.event === 'homekit' && Object.values(l.sensors as Record<string, number>).every((v) => v === open)),
        `HomeKit home sensor ${to === 'raised' ? 'open' : 'closed'}`,
      );
      out.homeKitHome = (hk.at as number) - t0;
      return out;
    }

    const marks = (): {
      hub: number;
      gw: number;
      watch: number;
      viewer: number;
      homebridge: number;
      nodered: number;
    } => ({
      hub: hub.lines.length,
      gw: gw.lines.length,
      watch: watch.lines.length,
      viewer: viewer.lines.length,
      homebridge: homebridge.lines.length,
      nodered: nodered.lines.length,
    });

    before(async () => {
      if (process.getuid?.() !== 0) throw new Error('the netns test needs root (ip netns, nft); CI runs it as root');
      await buildTopology();
      confDir = await mkdtemp(join(tmpdir(), 'camgate-netns-x-'));
      mosquittoConf = join(confDir, 'mosquitto.conf');
      const usersFile = join(confDir, 'users.json');
      await addUser(usersFile, { ...VIEWER, cameras: [`${GATEWAY_ID}/*`] });
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
      for (const cam of Object.keys(CAMS) as CamId[]) {
        const c = await startFixture(NS[cam], 'netns-camera.ts', {
          name: CAMS[cam].name,
          username: CAMERA_USER,
          password: CAMERA_PASSWORD,
        });
        procs.push(c.p);
        cameraProcs.push(c.p);
      }
      const h = await startFixture(NS.inet, 'netns-hub.ts', {
        host: INET_IP,
        gatewayId: GATEWAY_ID,
        secret: SECRET,
        more: [{ id: NR_GATEWAY_ID, secret: NR_SECRET }],
        token: TOKEN,
        clearAfterCleanScans: CLEAN_SCANS,
        usersFile,
      });
      hub = h.p;
      procs.push(hub);
      const r = await startFixture(NS.router, 'netns-router.ts', { host: ROUTER_LAN });
      router = r.p;
      routerHttpPort = r.ready.httpPort as number;
      procs.push(router);
      const m = await startFixture(NS.inet, 'netns-mqtt-watch.ts', {
        url: `mqtt://${INET_IP}:${MQTT_PORT}`,
        filters: ['camgate/#', 'homeassistant/#'],
      });
      watch = m.p;
      procs.push(watch);
      await watch.event('subscribed');
      const g = await startFixture(NS.gw, 'netns-gateway.ts', {
        cameras: [
          { id: 'frontdoor', name: CAMS.frontdoor.name, host: CAMS.frontdoor.ip },
          { id: 'garage', name: CAMS.garage.name, host: CAMS.garage.ip, ports: [GARAGE_SERVICE_PORT] },
        ],
        username: CAMERA_USER,
        password: CAMERA_PASSWORD,
        hubUrl: `${(h.ready.url as string).replace(/^http/, 'ws')}/tunnel`,
        gatewayId: GATEWAY_ID,
        secret: SECRET,
        mqttUrl: `mqtt://${INET_IP}:${MQTT_PORT}`,
        routerLan: ROUTER_LAN,
        ssdpPort: r.ready.ssdpPort,
      });
      gw = g.p;
      procs.push(gw);
      const nr = await startFixture(NS.gw, 'netns-nodered.ts', {
        cameras: [
          { id: 'frontdoor', name: CAMS.frontdoor.name, host: CAMS.frontdoor.ip },
          { id: 'garage', name: CAMS.garage.name, host: CAMS.garage.ip, ports: [GARAGE_SERVICE_PORT] },
        ],
        username: CAMERA_USER,
        password: CAMERA_PASSWORD,
        hubUrl: `${(h.ready.url as string).replace(/^http/, 'ws')}/tunnel`,
        gatewayId: NR_GATEWAY_ID,
        secret: NR_SECRET,
        routerLan: ROUTER_LAN,
        ssdpPort: r.ready.ssdpPort,
      });
      nodered = nr.p;
      procs.push(nodered);
      // Signing in waits for the camera list, which the gateway's announce fills.
      await hub.event('gateway', (l) => l.online === true && l.gatewayId === GATEWAY_ID);
      await hub.event('gateway', (l) => l.online === true && l.gatewayId === NR_GATEWAY_ID);
      const v = await startFixture(NS.inet, 'netns-viewer.ts', {
        hubUrl: h.ready.url,
        name: VIEWER.name,
        password: VIEWER.password,
      });
      viewer = v.p;
      procs.push(viewer);
      const hb = await startFixture(NS.inet, 'netns-homebridge.ts', {
        cameras: (Object.keys(CAMS) as CamId[]).map((id) => ({ id, name: CAMS[id].name })),
        mqttUrl: `mqtt://${INET_IP}:${MQTT_PORT}`,
      });
      homebridge = hb.p;
      procs.push(homebridge);
    });

    after(async () => {
      for (const [step, t] of Object.entries(timings))
        process.stdout.write(
          `# time from the change to each surface, ${step}: ${Object.entries(t)
            .map(([k, v]) => `${k} ${v} ms`)
            .join(', ')}\n`,
        );
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

    it('1. closed network: nothing answers from outside over IPv4 or IPv6; no flag anywhere', async () => {
      await hub.event('gateway', (l) => l.online === true);
      await gw.event('tunnel', (l) => l.state === 'connected');
      await gw.event('mqtt', (l) => l.connected === true);
      // The cameras talk on the LAN (as cameras do: NTP, DNS, the gateway's RTSP pulls), so the gateway's
      // neighbour table knows their IPv4 and IPv6 addresses and link-layer addresses.
      for (const c of cameraProcs) await c.request('chatter', { hosts: [GW_IP, GW_IP6] });
      // Neighbour discovery (RFC 4861 §7.2.3) and ARP create the entries as the datagrams arrive; bounded wait.
      let learned: Record<string, string[]> = {};
      for (let i = 0; i < 50 && Object.keys(learned).length < 2; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        learned = await gw.request<Record<string, string[]>>('learn');
      }
      assert.deepEqual(
        learned,
        { frontdoor: [CAMS.frontdoor.ip6], garage: [CAMS.garage.ip6] },
        `the neighbour table: ${JSON.stringify(await gw.request('neighbours'))}`,
      );
      // The hub got the announce with the global addresses, and only those; no LAN address, no credential.
      type Announce = { cameras: { id: string; ipv6?: string[]; ports?: number[] }[] } | null;
      let announce: Announce = null;
      // The re-announce crosses the tunnel: bounded polling, not a timing assertion.
      for (let i = 0; i < 300 && !announce?.cameras.every((c) => c.ipv6?.length); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        announce = await hub.request<Announce>('announce');
      }
      assert.deepEqual(
        announce?.cameras.map((c) => [c.id, c.ipv6, c.ports]),
        [
          ['frontdoor', [CAMS.frontdoor.ip6], undefined],
          ['garage', [CAMS.garage.ip6], [GARAGE_SERVICE_PORT]],
        ],
      );
      const told = JSON.stringify(announce);
      for (const secret of [CAMERA_PASSWORD, CAMS.frontdoor.ip, CAMS.garage.ip, '/stream'])
        assert.ok(!told.includes(secret), `the hub was told ${secret}`);
      // The Node-RED gateway learns from the same neighbour table (every second here: its IPv6 interval option).
      let nrAnnounce: Announce = null;
      for (let i = 0; i < 300 && !nrAnnounce?.cameras.every((c) => c.ipv6?.length); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        nrAnnounce = await hub.request<Announce>('announce', { gatewayId: NR_GATEWAY_ID });
      }
      assert.deepEqual(
        nrAnnounce?.cameras.map((c) => [c.id, c.ipv6, c.ports]),
        [
          ['frontdoor', [CAMS.frontdoor.ip6], undefined],
          ['garage', [CAMS.garage.ip6], [GARAGE_SERVICE_PORT]],
        ],
        'the Node-RED gateway announces the same cameras',
      );
      const nrTold = JSON.stringify(nrAnnounce);
      for (const secret of [CAMERA_PASSWORD, CAMS.frontdoor.ip, CAMS.garage.ip, '/stream'])
        assert.ok(!nrTold.includes(secret), `the hub was told ${secret} by the Node-RED gateway`);
      assert.equal(await hub.request('allows', { target: CAMS.frontdoor.ip6 }), true);
      assert.equal(await hub.request('allows', { target: `${LAN6}:99` }), false);
      const body = await scan();
      assert.equal(body.target, ROUTER_WAN);
      assert.ok(body.ports.includes(GARAGE_SERVICE_PORT), `the garage's service port is scanned: ${body.ports}`);
      assert.deepEqual(body.open, []);
      assert.deepEqual(await allHubFlags(), []);
      assert.deepEqual(await gw.request('flags'), []);
      assert.ok(
        !nodered.lines.some((l) => l.event === 'nodered' && l.source === 'flags'),
        'no flag output from Node-RED',
      );
      assert.ok(!watch.lines.some((l) => l.event === 'message' && String(l.topic).includes('/flags/')));
      assert.equal(await viewer.request('cameras'), 2, 'the viewer lists both cameras');
      const page = await viewer.event('viewer');
      assert.deepEqual([page.cameras, page.home], [{}, ''], 'no badge and no banner in the viewer');
      assert.ok(!viewer.lines.some((l) => l.event === 'viewer' && Object.keys(l.cameras as object).length > 0));
      const hk = await homebridge.event('homekit');
      assert.deepEqual(hk.sensors, { frontdoor: 0, garage: 0, home: 0 }, 'every HomeKit exposure sensor closed');
      assert.ok(!homebridge.lines.some((l) => l.event === 'homekit' && Object.values(l.sensors as object).includes(1)));
    });

    /**
     * The Node-RED gateway's flag for the same finding (its own attribution): the hub names the camera, the
     * camgate-flags node outputs the transition naming it, and the camgate-exposure node's status turns red (or
     * leaves red when cleared). Returns when each showed it (ms since `t0`).
     */
    async function noderedSurfaces(
      cam: CamId,
      key: string,
      to: 'raised' | 'cleared',
      t0: number,
      from: number,
    ): Promise<Record<string, number>> {
      const f = (await nrHubFlags()).find((x) => x.key === key);
      assert.equal(f?.cameraId, cam, `the Node-RED gateway's ${key} flag names ${cam}: ${JSON.stringify(f)}`);
      assert.equal(f?.state, to);
      type Out = { payload?: { to?: string; flag?: { id?: string; cameraId?: string; gatewayId?: string } } };
      const out = await nodered.waitFor(
        after_(
          nodered,
          from,
        )((l) => {
          const p = (l as Out).payload;
          return l.event === 'nodered' && l.source === 'flags' && p?.flag?.id === f.id && p.to === to;
        }),
        `Node-RED camgate-flags output ${to} ${f.id}`,
      );
      const p = (out as Out).payload!;
      assert.equal(p.flag?.cameraId, cam, 'the Node-RED output names the camera');
      assert.equal(p.flag?.gatewayId, NR_GATEWAY_ID);
      const st = await nodered.waitFor(
        after_(
          nodered,
          from,
        )((l) => {
          const status = l.status as { fill?: string; source?: { id?: string } } | undefined;
          return (
            l.event === 'nodered' &&
            status?.source?.id === 'exposure' &&
            (to === 'raised' ? status.fill === 'red' : status.fill !== 'red')
          );
        }),
        `Node-RED camgate-exposure status ${to === 'raised' ? 'exposed' : 'no longer exposed'}`,
      );
      const told = JSON.stringify(nodered.lines);
      assert.ok(!told.includes(CAMERA_PASSWORD) && !told.includes(NR_SECRET), 'no secret in the Node-RED outputs');
      return { noderedFlags: (out.at as number) - t0, noderedExposure: (st.at as number) - t0 };
    }

    const raisedIds: Record<string, string> = {};

    async function raiseStep(
      step: string,
      change: () => Promise<unknown>,
      expect: { cam: CamId; key: string; method: RegExp },
    ): Promise<void> {
      const m = marks();
      const t0 = Date.now();
      await change();
      const body = await scan();
      assert.ok(body.open.length > 0, `${step}: the scan found nothing open`);
      const flags = (await hubFlags()).filter((f) => f.state === 'raised');
      assert.deepEqual(
        flags.map((f) => [f.cameraId, f.key]),
        [[expect.cam, expect.key]],
        `${step}: one raised flag, naming the camera`,
      );
      const flag = flags[0]!;
      assert.match(flag.evidence.map((e) => e.detail).join(' | '), expect.method);
      raisedIds[step] = flag.id;
      const nr = (await nrHubFlags()).filter((f) => f.state === 'raised');
      assert.deepEqual(
        nr.map((f) => [f.cameraId, f.key]),
        [[expect.cam, expect.key]],
        `${step}: one raised flag at the Node-RED gateway, naming the camera (its own attribution)`,
      );
      timings[step] = {
        ...(await surfaces(flag.id, expect.cam, 'raised', t0, m)),
        ...(await noderedSurfaces(expect.cam, expect.key, 'raised', t0, m.nodered)),
      };
    }

    async function clearStep(step: string, change: () => Promise<unknown>): Promise<void> {
      const id = raisedIds[step];
      assert.ok(id, `${step} raised a flag`);
      const m = marks();
      const t0 = Date.now();
      await change();
      for (let i = 1; i <= CLEAN_SCANS; i++) {
        assert.deepEqual((await scan()).open, []);
        const f: HubFlag | undefined = (await hubFlags()).find((x) => x.id === id);
        assert.equal(f?.state, i < CLEAN_SCANS ? 'raised' : 'cleared', `${step}: after clean scan ${i}`);
      }
      const flag = (await hubFlags()).find((x) => x.id === id)!;
      const cam = flag.cameraId as CamId;
      timings[`${step} cleared`] = {
        ...(await surfaces(id, cam, 'cleared', t0, m)),
        ...(await noderedSurfaces(cam, flag.key!, 'cleared', t0, m.nodered)),
      };
    }

    it('2. a port forward (443 -> the front door camera): within one scan the flag names it, ON on every surface', async () => {
      await raiseStep('port forward', () => addForward(443, 'frontdoor', 443), {
        cam: 'frontdoor',
        key: 'port-443',
        method: /frontdoor: matched by the gateway \(tls-certificate\)/,
      });
    });

    it(`2b. the forward removed: cleared everywhere after ${CLEAN_SCANS} clean scans`, async () => {
      await clearStep('port forward', removeForwards);
    });

    it('3. a UPnP mapping (the garage service port -> garage:554): the flag names the garage', async () => {
      await raiseStep(
        'UPnP mapping',
        async () => {
          // What a UPnP client on the LAN does: the IGD records the mapping and opens the forward.
          await router.request('map', {
            mapping: {
              externalPort: GARAGE_SERVICE_PORT,
              protocol: 'TCP',
              internalPort: 554,
              internalClient: CAMS.garage.ip,
              description: 'garage camera',
            },
          });
          await addForward(GARAGE_SERVICE_PORT, 'garage', 554);
        },
        {
          cam: 'garage',
          key: `port-${GARAGE_SERVICE_PORT}`,
          method: /garage: matched by the gateway \(upnp-mapping\)/,
        },
      );
    });

    it(`3b. the mapping removed: cleared everywhere after ${CLEAN_SCANS} clean scans`, async () => {
      await clearStep('UPnP mapping', async () => {
        await router.request('unmap');
        await removeForwards();
      });
    });

    it('4. an IPv6 forward-allow rule for the front door camera: the hub reaches it over IPv6, the flag names it', async () => {
      await raiseStep('IPv6 allow rule', () => allowV6('frontdoor', 554), {
        cam: 'frontdoor',
        key: 'ipv6-port-554',
        method: /frontdoor: answered on its own global IPv6 address/,
      });
      const f: HubFlag | undefined = (await hubFlags()).find((x) => x.id === raisedIds['IPv6 allow rule']);
      assert.equal(f?.evidence[0]?.host, CAMS.frontdoor.ip6);
      assert.equal(f?.evidence[0]?.protocol, 'rtsp');
    });

    it(`4b. the allow rule removed: cleared everywhere after ${CLEAN_SCANS} clean scans`, async () => {
      await clearStep('IPv6 allow rule', removeV6Allows);
    });

    it("4c. a forward to a LAN service that is no camera (the router's web server): a flag of the whole home", async () => {
      const m = marks();
      const t0 = Date.now();
      // 8080 (scanned, probed as HTTP) -> the router's own UPnP web server: no camera answers like it.
      await nft(
        'add',
        'rule',
        'ip',
        'camgate',
        'prerouting',
        'iifname',
        IF.wan,
        'tcp',
        'dport',
        '8080',
        'dnat',
        'to',
        `${ROUTER_LAN}:${routerHttpPort}`,
      );
      const body = await scan();
      assert.deepEqual(
        body.open.map((o) => o.port),
        [8080],
        'the scan finds the forwarded port',
      );
      const flags = (await hubFlags()).filter((f) => f.state === 'raised');
      assert.deepEqual(
        flags.map((f) => [f.cameraId, f.key]),
        [[undefined, 'port-8080']],
        'one raised flag, of the whole home',
      );
      raisedIds['home-wide forward'] = flags[0]!.id;
      timings['home-wide forward'] = await homeSurfaces(flags[0]!.id, 'raised', t0, m);
    });

    it(`4d. that forward removed: the home-wide flag clears everywhere after ${CLEAN_SCANS} clean scans`, async () => {
      const id = raisedIds['home-wide forward'];
      assert.ok(id, 'the home-wide forward raised a flag');
      const m = marks();
      const t0 = Date.now();
      await removeForwards();
      for (let i = 1; i <= CLEAN_SCANS; i++) assert.deepEqual((await scan()).open, []);
      assert.equal((await hubFlags()).find((x) => x.id === id)?.state, 'cleared');
      timings['home-wide forward cleared'] = await homeSurfaces(id, 'cleared', t0, m);
    });

    it('6. the broker is down during a raise: the flag reaches MQTT, Home Assistant and HomeKit when it is back', async () => {
      await mosquitto.stop();
      await gw.event('mqtt', (l) => l.connected === false);
      const m = marks();
      const t0 = Date.now();
      await addForward(443, 'frontdoor', 443);
      await scan();
      const id = raisedIds['port forward']!;
      await gw.waitFor(
        after_(gw, m.gw)((l) => l.event === 'transition' && l.id === id && l.to === 'raised'),
        're-raise at the gateway',
      );
      mosquitto = await startMosquitto();
      timings['broker down, then back'] = await surfaces(id, 'frontdoor', 'raised', t0, m);
      await removeForwards();
    });
  },
);
