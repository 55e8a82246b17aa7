/**
 * Issue 18 in network namespaces: catching a camera that is already infected. A home LAN behind a router that
 * routes between three segments (so its connection table sees LAN traffic, as an OpenWrt router's does between
 * its LAN and a camera VLAN). Addresses (10.234.x.x) exist only inside the namespaces this test creates; the
 * router has no default route, so nothing can leave them.
 *
 *   home     10.234.1.2  engine + hub + gateway on loopback, FlagService (canary socket), Chromium viewer
 *            10.234.1.3  `camgate canary` (the real CLI) on the scanner ports, reporting to the gateway's socket
 *   router   10.234.{1,2,3}.1  forwarding; camgate on the router reading conntrack (FlagService, conntrack on)
 *   clean    10.234.2.2  camera "Porch": RTSP, watched in Chromium for 5 minutes
 *   infected 10.234.3.2  camera "Attic": RTSP, and a bounded Mirai-like scanner of 10.234.1.1-40 on 23/2323
 *
 * Prints the detection times and the false-flag count of the clean run; asserts only generous bounds.
 * Requires root, iproute2, nftables and conntrack (scripts/test.sh installs them).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { NsProcess, REPO_ROOT, sh, startFixture, uniqueSuffix, type Line } from './helpers/netns.js';

const GATEWAY_ID = 'home-1'; // startStack's gateway id (@camgate/test-helpers stack.ts)
const CLEAN = { id: 'porch', name: 'Porch', ip: '10.234.2.2' };
const INFECTED = { id: 'attic', name: 'Attic', ip: '10.234.3.2' };
const HOME_IP = '10.234.1.2';
const CANARY_IP = '10.234.1.3';
const CLEAN_WATCH_MS = 5 * 60_000; // the issue: watched in Chromium for 5 minutes
const DETECT_BOUND_MS = 60_000; // the issue asks for 10 s; asserted generously (shared, loaded CI), printed exactly
const SCAN = { perSecond: 160, durationMs: 8_000 }; // Mirai's SCANNER_RAW_PPS (scanner.h), bounded

const s = uniqueSuffix();
const NS = { router: `cg-crt-${s}`, home: `cg-chm-${s}`, clean: `cg-ccl-${s}`, infected: `cg-cin-${s}` };
const IF = {
  home: `cch${s}`,
  rHome: `ccrh${s}`,
  clean: `ccc${s}`,
  rClean: `ccrc${s}`,
  infected: `cci${s}`,
  rInfected: `ccri${s}`,
};

const ip = (...a: string[]): Promise<string> => sh('ip', a);

async function buildTopology(): Promise<void> {
  for (const ns of Object.values(NS)) {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  const link = async (dev: string, ns: string, addrs: string[], peer: string, peerAddr: string, peerNs: string) => {
    await ip('link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', peerNs);
    for (const a of addrs) await ip('-n', ns, 'addr', 'add', a, 'dev', dev);
    await ip('-n', peerNs, 'addr', 'add', peerAddr, 'dev', peer);
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', peerNs, 'link', 'set', peer, 'up');
  };
  await link(IF.home, NS.home, [`${HOME_IP}/24`, `${CANARY_IP}/24`], IF.rHome, '10.234.1.1/24', NS.router);
  await link(IF.clean, NS.clean, [`${CLEAN.ip}/24`], IF.rClean, '10.234.2.1/24', NS.router);
  await link(IF.infected, NS.infected, [`${INFECTED.ip}/24`], IF.rInfected, '10.234.3.1/24', NS.router);
  await ip('-n', NS.home, 'route', 'add', '10.234.0.0/16', 'via', '10.234.1.1');
  await ip('-n', NS.clean, 'route', 'add', '10.234.0.0/16', 'via', '10.234.2.1');
  await ip('-n', NS.infected, 'route', 'add', '10.234.0.0/16', 'via', '10.234.3.1');
  await sh('ip', ['netns', 'exec', NS.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  // A stateful forward rule, as every router has: it makes the kernel track connections in this namespace.
  await sh(
    'ip',
    ['netns', 'exec', NS.router, 'nft', '-f', '-'],
    `table ip camgate {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ip saddr 10.234.0.0/16 ip daddr 10.234.0.0/16 ct state new accept
  }
}
`,
  );
}

const compromise = (l: Line, cameraId: string | null): boolean =>
  l.event === 'transition' && l.kind === 'compromise' && l.to === 'raised' && l.cameraId === cameraId;

describe(
  'network namespaces: a LAN canary and the router connection table catch an infected camera',
  { timeout: 900_000 },
  () => {
    const procs: NsProcess[] = [];
    let dir = '';
    let home: NsProcess;
    let router: NsProcess;
    let canary: NsProcess;

    before(async () => {
      if (process.getuid?.() !== 0) throw new Error('the netns test needs root (ip netns, nft, conntrack)');
      dir = await mkdtemp(join(tmpdir(), 'camgate-netns-canary-'));
      await buildTopology();
      const urls: string[] = [];
      for (const [ns, cam] of [
        [NS.clean, CLEAN],
        [NS.infected, INFECTED],
      ] as const) {
        const c = await startFixture(ns, 'netns-canary-camera.ts', { host: cam.ip });
        procs.push(c.p);
        urls.push(String(c.ready.url));
      }
      const cameras = [CLEAN, INFECTED].map((c, i) => ({ id: c.id, name: c.name, url: urls[i]! }));
      // A Unix socket is a file: the canary in the same namespace (or any other) reaches it through the filesystem.
      const canarySocket = join(dir, 'canary.sock');
      const h = await startFixture(NS.home, 'netns-canary-home.ts', { cameras, canarySocket });
      home = h.p;
      procs.push(home);
      canary = new NsProcess(
        NS.home,
        [
          process.execPath,
          '--import',
          'tsx',
          join(REPO_ROOT, 'gateway-core/src/cli/main.ts'),
          'canary',
          '--listen',
          CANARY_IP,
          '--report',
          canarySocket,
        ],
        'camgate canary',
      );
      procs.push(canary);
      await canary.waitFor(
        (l) => l.event === 'text' && /camgate canary: listening on/.test(String(l.text)),
        'listening',
      );
      const r = await startFixture(NS.router, 'netns-canary-router.ts', { gatewayId: GATEWAY_ID, cameras });
      router = r.p;
      procs.push(router);
    });

    after(async () => {
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
      if (dir) await rm(dir, { recursive: true, force: true });
      const left = await ip('netns', 'list');
      assert.ok(!left.includes(s), `namespaces left behind: ${left}`);
    });

    it('refuses to start the canary on a public address', async () => {
      const p = new NsProcess(
        NS.home,
        [
          process.execPath,
          '--import',
          'tsx',
          join(REPO_ROOT, 'gateway-core/src/cli/main.ts'),
          'canary',
          '--listen',
          '198.51.100.3',
        ],
        'canary on a public address',
      );
      assert.equal(await p.exited, 1);
      assert.match(p.stderr, /private or link-local LAN address.*\[CAMGATE_CANARY_ADDRESS\]/s);
    });

    it('the clean camera, watched in Chromium for 5 minutes, is never flagged', async (t) => {
      await home.request('view', { cameraId: CLEAN.id });
      let last = 0;
      const started = Date.now();
      const samples: number[] = [];
      while (Date.now() - started < CLEAN_WATCH_MS) {
        await sleep(Math.min(30_000, Math.max(1_000, CLEAN_WATCH_MS - (Date.now() - started))));
        const f = await home.request<{ framesDecoded: number }>('frames');
        samples.push(f.framesDecoded);
        assert.ok(f.framesDecoded > last, `video keeps playing (${last} -> ${f.framesDecoded} frames decoded)`);
        last = f.framesDecoded;
      }
      const falseFlags = [...home.lines, ...router.lines].filter(
        (l) => l.event === 'transition' && l.kind === 'compromise',
      );
      t.diagnostic(`clean run: ${Math.round((Date.now() - started) / 1000)} s watched, ${last} frames decoded`);
      t.diagnostic(`clean run: false compromise flags = ${falseFlags.length}`);
      assert.equal(
        falseFlags.length,
        0,
        `no compromise flag while only normal traffic flows: ${JSON.stringify(falseFlags)}`,
      );
      assert.equal(canary.lines.filter((l) => l.event === 'attempt').length, 0, 'nothing touched the canary');
    });

    it('the infected camera is flagged by name from the canary, and by the router from its connection table', async (t) => {
      const targets = Array.from({ length: 40 }, (_, i) => `10.234.1.${i + 1}`);
      const scanner = await startFixture(NS.infected, 'netns-canary-scanner.ts', {
        targets,
        allowedPrefix: '10.234.',
        ...SCAN,
      });
      procs.push(scanner.p);
      // Timed from the scanner's first connection, not from its process start (tsx takes seconds on a loaded host).
      const started = scanner.ready.startedAt as number;
      const byCanary = await home.event('transition', (l) => compromise(l, INFECTED.id));
      const canaryMs = (byCanary.at as number) - started;
      t.diagnostic(`canary: "${INFECTED.name}" flagged ${canaryMs} ms after its scanner started`);
      const ev = (byCanary.evidence as { host: string; port: number; protocol: string }[])[0]!;
      assert.equal(ev.host, INFECTED.ip);
      assert.ok([23, 2323].includes(ev.port), `port ${ev.port}`);
      assert.equal(ev.protocol, 'canary');
      assert.match(String(byCanary.advice), /The camera "Attic" is behaving like a botnet/);
      assert.ok(canaryMs < DETECT_BOUND_MS, `flagged within ${DETECT_BOUND_MS} ms (took ${canaryMs})`);

      const byRouter = await router.event('transition', (l) => compromise(l, INFECTED.id));
      const routerMs = (byRouter.at as number) - started;
      t.diagnostic(`conntrack: "${INFECTED.name}" flagged by the router ${routerMs} ms after its scanner started`);
      const rev = (byRouter.evidence as { protocol: string; detail: string }[])[0]!;
      assert.equal(rev.protocol, 'conntrack');
      assert.match(rev.detail, /different addresses on scanner ports/);
      assert.ok(routerMs < DETECT_BOUND_MS, `flagged within ${DETECT_BOUND_MS} ms (took ${routerMs})`);

      const done = await scanner.p.event('done');
      t.diagnostic(`scanner: ${String(done.attempts)} connection attempts, ${String(done.connected)} answered`);
      const attempts = canary.lines.filter((l) => l.event === 'attempt');
      assert.ok(attempts.length > 0 && attempts.every((l) => l.source === INFECTED.ip));
      // Only the infected camera is flagged, on both sides; the clean one never.
      for (const p of [home, router]) {
        const flagged = p.lines.filter((l) => l.event === 'transition' && l.kind === 'compromise');
        assert.ok(
          flagged.every((l) => l.cameraId === INFECTED.id),
          `${p.name}: ${JSON.stringify(flagged.map((l) => l.cameraId))}`,
        );
      }
    });
  },
);
