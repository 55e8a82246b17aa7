'use strict';
/**
 * The node tests, run once per Node-RED major (nodes-nr5.test.js,
 * nodes-nr4.test.js): node-red-node-test-helper keeps one runtime per
 * process, so each version gets its own test file and process.
 */
const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const helper = require('node-red-node-test-helper');
const fx = require('./fixtures.js');
const { collector } = require('./collector.js');

const cameraNode = require('../../nodes/camgate-camera.js');
const gatewayNode = require('../../nodes/camgate-gateway.js');
const eventsNode = require('../../nodes/camgate-events.js');
const flagsNode = require('../../nodes/camgate-flags.js');
const exposureNode = require('../../nodes/camgate-exposure.js');
const bridgeNode = require('../../nodes/camgate-mqtt-bridge.js');
const ALL = [cameraNode, gatewayNode, eventsNode, flagsNode, exposureNode, bridgeNode];

const SECRETS = [fx.GATEWAY_SECRET, fx.CAMERA_PASSWORD, fx.CAMERA_USER];

function assertNoSecrets(what, value) {
  const text = JSON.stringify(value);
  for (const s of SECRETS) assert.ok(!text.includes(s), `${what} must not contain a credential`);
}

function camera(extra = {}) {
  return {
    id: 'cam1',
    type: 'camgate-camera',
    name: 'Front door',
    cameraId: 'front-door',
    url: 'rtsp://127.0.0.1:8554/stream1',
    host: '127.0.0.1',
    ports: '554',
    ...extra,
  };
}

function gateway(hubUrl, extra = {}) {
  return {
    id: 'gw1',
    type: 'camgate-gateway',
    name: 'Home',
    hubUrl,
    gatewayId: fx.GATEWAY_ID,
    backend: 'engine',
    cameras: ['cam1'],
    persistFlags: false,
    ...extra,
  };
}

const creds = (secret = fx.GATEWAY_SECRET) => ({
  cam1: { username: fx.CAMERA_USER, password: fx.CAMERA_PASSWORD },
  gw1: { secret },
});

/** Resolves when `node` shows a status matching `pred`. */
function statusOf(node, pred) {
  return new Promise((resolve) => {
    const orig = node.status.bind(node);
    node.status = (s) => {
      orig(s);
      if (pred(s)) resolve(s);
    };
  });
}

function defineNodeTests(nodeRedPackage) {
  describe(`node-red-contrib-camgate on ${nodeRedPackage}`, () => {
    before(() => helper.init(require.resolve(nodeRedPackage)));
    afterEach(async () => {
      await helper.unload();
    });

    describe('camgate-camera', () => {
      it('keeps username and password in credentials, not in the node config', async () => {
        await helper.load(ALL, [camera()], { cam1: { username: fx.CAMERA_USER, password: fx.CAMERA_PASSWORD } });
        const cam = helper.getNode('cam1');
        assert.deepEqual(cam.problems, []);
        assert.equal(cam.url, 'rtsp://127.0.0.1:8554/stream1');
        assert.deepEqual(cam.ports, [554]);
        assert.equal(cam.toCamera().password, fx.CAMERA_PASSWORD);
        const { credentials: _c, ...visible } = Object.fromEntries(
          Object.entries(cam).filter(([k]) => !k.startsWith('_')),
        );
        assertNoSecrets('camera node properties', visible);
      });

      it('refuses an RTSP URL with credentials, a non-RTSP URL, a bad id and bad ports', async () => {
        await helper.load(ALL, [
          camera({ id: 'c1', url: 'rtsp://admin:pw@10.0.0.5/s' }),
          camera({ id: 'c2', url: 'http://10.0.0.5/' }),
          camera({ id: 'c3', cameraId: '../x' }),
          camera({ id: 'c4', ports: '554, 99999' }),
        ]);
        assert.match(helper.getNode('c1').problems.join(), /RTSP URL/);
        assert.match(helper.getNode('c2').problems.join(), /RTSP URL/);
        assert.match(helper.getNode('c3').problems.join(), /camera id/);
        assert.match(helper.getNode('c4').problems.join(), /"99999" is not a port number/);
      });
    });

    describe('camgate-gateway + camgate-events', () => {
      let env;
      before(async () => {
        env = await fx.startHub();
      });
      after(async () => {
        await env.hub.close();
      });

      it('connects to a real hub: events node emits tunnel connected, green status, no credential anywhere', async () => {
        const online = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && e.online);
        const flow = [
          camera(),
          gateway(env.tunnelUrl),
          { id: 'ev', type: 'camgate-events', gateway: 'gw1', wires: [['out']] },
          { id: 'out', type: 'helper' },
        ];
        await helper.load(ALL, flow, creds());
        const ev = helper.getNode('ev');
        const green = statusOf(ev, (s) => s.fill === 'green');
        const out = collector(helper.getNode('out'));
        const msg = await out.next((m) => m.payload.type === 'tunnel' && m.payload.state === 'connected');
        const [info] = await online;
        assert.equal(info.remoteAddress, '127.0.0.1');
        assert.deepEqual((await green).text, 'connected');
        assert.equal(msg.topic, `camgate/${fx.GATEWAY_ID}/tunnel`);
        assert.equal(msg.payload.gatewayId, fx.GATEWAY_ID);
        assert.ok(!Number.isNaN(Date.parse(msg.payload.at)));
        const runtime = helper.getNode('gw1').runtime;
        assert.equal(runtime.gateway.tunnelState, 'connected');
        assert.deepEqual(runtime.cameras, [{ id: 'front-door', name: 'Front door' }]);
        assertNoSecrets('events', out.msgs);
        // Clean close: the hub sees the gateway leave and the built-in engine stops listening.
        const engineUrl = runtime.engine.url;
        const offline = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && !e.online);
        await helper.unload();
        await offline;
        assert.equal(runtime.state, 'closed');
        await assert.rejects(
          new Promise((resolve, reject) => {
            const s = require('node:net').connect(Number(new URL(engineUrl).port), '127.0.0.1', () => {
              s.destroy();
              resolve();
            });
            s.on('error', reject);
          }),
          /ECONNREFUSED/,
        );
      });

      it('a flag the hub forwards through the tunnel comes out of camgate-flags', async () => {
        const online = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && e.online);
        const flow = [
          camera(),
          gateway(env.tunnelUrl),
          { id: 'fl', type: 'camgate-flags', gateway: 'gw1', kind: 'exposed', wires: [['out']] },
          { id: 'out', type: 'helper' },
        ];
        await helper.load(ALL, flow, creds());
        await online;
        const out = collector(helper.getNode('out'));
        const at = new Date().toISOString();
        const obs = {
          kind: 'exposed',
          gatewayId: fx.GATEWAY_ID,
          cameraId: 'front-door',
          key: 'port-554',
          evidence: [{ host: '127.0.0.1', port: 554, protocol: 'rtsp', at }],
          advice: 'close the port forward',
          source: 'hub',
        };
        // The hub's store computes the flag; the hub sends it as a control message (as its exposure service does).
        const hubStore = await env.core.FlagStore.open({});
        const t = await hubStore.raise(obs);
        await hubStore.close();
        env.hub.tunnels.peer(fx.GATEWAY_ID).sendControl({ type: 'flag', flag: t.flag });
        const m = await out.next();
        assert.equal(m.payload.to, 'raised');
        assert.equal(m.payload.flag.source, 'hub');
        assert.equal(m.payload.flag.id, t.flag.id);
      });

      it("the nodes' own LAN-audit flag reaches the hub, without the camera's address or password", async () => {
        const telnet = await fx.startTelnet();
        after(() => telnet.close());
        const online = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && e.online);
        const flow = [
          camera(),
          gateway(env.tunnelUrl),
          {
            id: 'ex',
            type: 'camgate-exposure',
            gateway: 'gw1',
            telnetPorts: String(telnet.port),
            upnp: false,
            intervalMin: 0,
            wires: [['flags'], []],
          },
          { id: 'flags', type: 'helper' },
        ];
        await helper.load(ALL, flow, creds());
        await online;
        const flags = collector(helper.getNode('flags'));
        helper.getNode('ex').receive({ payload: 'go' });
        const raised = await flags.next();
        // Bounded poll: the flag crosses the tunnel as a control message (gateway/hub-flag-sync.ts).
        const deadline = Date.now() + 20_000;
        let atHub = env.hub.gatewayFlags.list(fx.GATEWAY_ID);
        while (atHub.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          atHub = env.hub.gatewayFlags.list(fx.GATEWAY_ID);
        }
        assert.deepEqual(
          atHub.map((f) => f.id),
          [raised.payload.flag.id],
        );
        assert.equal(atHub[0].evidence[0].host, 'camera front-door');
        assert.ok(!JSON.stringify(atHub).includes('127.0.0.1'), 'no LAN address at the hub');
        assertNoSecrets('flags at the hub', atHub);
      });

      it('shows "refused" in red with the reason when the secret is wrong', async () => {
        const flow = [
          camera(),
          gateway(env.tunnelUrl),
          { id: 'ev', type: 'camgate-events', gateway: 'gw1', wires: [['out']] },
          { id: 'out', type: 'helper' },
        ];
        await helper.load(ALL, flow, creds('wrong-secret-but-long-enough-1234'));
        const out = collector(helper.getNode('out'));
        const refused = statusOf(helper.getNode('ev'), (s) => s.fill === 'red');
        const msg = await out.next((m) => m.payload.type === 'tunnel' && m.payload.state === 'refused');
        assert.match((await refused).text, /^refused: /);
        assert.equal(typeof msg.payload.code, 'string');
        assert.ok(!JSON.stringify(out.msgs).includes('wrong-secret-but-long-enough-1234'));
      });

      it('shows "reconnecting in N s" in yellow when the hub is not there', async () => {
        const port = await fx.closedPort();
        const flow = [
          gateway(`ws://127.0.0.1:${port}/tunnel`, { cameras: [] }),
          { id: 'ev', type: 'camgate-events', gateway: 'gw1', wires: [['out']] },
          { id: 'out', type: 'helper' },
        ];
        await helper.load(ALL, flow, { gw1: { secret: fx.GATEWAY_SECRET } });
        const s = await statusOf(helper.getNode('ev'), (st) => /^reconnecting/.test(st.text));
        assert.equal(s.fill, 'yellow');
        assert.equal(s.shape, 'ring');
        assert.match(s.text, /^reconnecting in \d+ s$/);
      });

      it('does not dial without a secret (an imported flow) and says so', async () => {
        const flow = [
          gateway('ws://127.0.0.1:9/tunnel', { cameras: [] }),
          { id: 'ev', type: 'camgate-events', gateway: 'gw1', wires: [[]] },
        ];
        await helper.load(ALL, flow);
        const gw = helper.getNode('gw1');
        await gw.runtime.ready;
        assert.equal(gw.runtime.state, 'unconfigured');
        assert.equal(gw.runtime.gateway, undefined);
      });

      it('reports an invalid configuration with the field path', async () => {
        const flow = [
          gateway('http://127.0.0.1/x', { cameras: [] }),
          { id: 'ev', type: 'camgate-events', gateway: 'gw1', wires: [[]] },
        ];
        await helper.load(ALL, flow, { gw1: { secret: fx.GATEWAY_SECRET } });
        const gw = helper.getNode('gw1');
        await gw.runtime.ready;
        assert.equal(gw.runtime.state, 'failed');
        assert.match(gw.runtime.info.reason, /hub\.url: must be a ws:\/\/ or wss:\/\/ URL/);
      });

      describe('keep cameras warm', () => {
        let sim;
        before(async () => {
          const core = await import('@camgate/core');
          sim = await core.startCameraSim({
            username: fx.CAMERA_USER,
            password: fx.CAMERA_PASSWORD,
            width: 160,
            height: 96,
          });
        });
        after(() => sim?.close());

        /** Deploys camera + gateway (`extra` on the gateway node) and resolves with the runtime once connected. */
        async function connected(extra) {
          const online = fx.waitFor(env.hub, 'gateway', (e) => e.gatewayId === fx.GATEWAY_ID && e.online);
          await helper.load(ALL, [camera({ url: sim.url, ports: '' }), gateway(env.tunnelUrl, extra)], creds());
          await online;
          return helper.getNode('gw1').runtime;
        }

        async function until(what, check) {
          for (let i = 0; i < 400; i++) {
            if (check()) return;
            await new Promise((r) => setTimeout(r, 25));
          }
          assert.fail(`timed out waiting for ${what}`);
        }

        it('unset (a flow saved before the option): the built-in engine keeps a warm pipeline pulling the camera', async () => {
          const runtime = await connected({});
          assert.equal(runtime.o.keepWarm, true);
          await until('the warm pipeline', () => runtime.engine.stats().pipelines === 1 && sim.stats.playing === 1);
          assert.equal(runtime.engine.stats().rtspSources, 1);
          await helper.unload();
          await until('the camera pull closed', () => sim.stats.playing === 0);
        });

        const statusLog = (node) => {
          const seen = [];
          const orig = node.status.bind(node);
          node.status = (st) => {
            orig(st);
            seen.push(st);
          };
          return seen;
        };

        it('camgate-events with a camera shows its state: live, camera lost — reconnecting, live again', async () => {
          const flow = [
            camera({ url: sim.url, ports: '' }),
            gateway(env.tunnelUrl, {}),
            { id: 'ev', type: 'camgate-events', gateway: 'gw1', camera: 'cam1', types: ['camera'], wires: [['out']] },
            { id: 'out', type: 'helper' },
          ];
          await helper.load(ALL, flow, creds());
          const ev = helper.getNode('ev');
          const seen = statusLog(ev);
          const got = collector(helper.getNode('out'));
          await until('green live', () => seen.some((st) => st.fill === 'green' && st.text === 'live'));
          await sim.stop();
          try {
            await until('yellow reconnecting', () =>
              seen.some((st) => st.fill === 'yellow' && st.shape === 'ring' && /reconnecting/.test(st.text)),
            );
          } finally {
            await sim.resume();
          }
          const n = seen.length;
          await until('green live again', () => seen.slice(n).some((st) => st.fill === 'green' && st.text === 'live'));
          // From the first picture on, what happened to the camera, in order. (Before it, the previous test's
          // session may still hold the simulated camera's connection slot: connecting/unreachable are honest there.)
          const states = got.msgs.map((m) => m.payload.state);
          assert.deepEqual(states.slice(states.indexOf('live')), ['live', 'reconnecting', 'live']);
          assert.ok(got.msgs.every((m) => m.payload.type === 'camera' && m.payload.cameraId === 'front-door'));
          assertNoSecrets('camera events', got.msgs);
        });

        it('camgate-events with a camera whose password is wrong: red ring "unreachable: wrong password"', async () => {
          const flow = [
            camera({ url: sim.url, ports: '' }),
            gateway(env.tunnelUrl, {}),
            { id: 'ev', type: 'camgate-events', gateway: 'gw1', camera: 'cam1', types: ['camera'], wires: [[]] },
          ];
          const bad = { ...creds(), cam1: { username: fx.CAMERA_USER, password: 'not-the-camera-password' } };
          await helper.load(ALL, flow, bad);
          const seen = statusLog(helper.getNode('ev'));
          await until('red unreachable', () =>
            seen.some((st) => st.fill === 'red' && st.shape === 'ring' && st.text === 'unreachable: wrong password'),
          );
        });

        for (const off of [false, 'false']) {
          it(`keepWarm ${JSON.stringify(off)}: no pipeline and no pull while nobody watches`, async () => {
            const sessionsBefore = sim.stats.sessions;
            const runtime = await connected({ keepWarm: off });
            assert.equal(runtime.o.keepWarm, false);
            // The warmer would have started with the tunnel; give it time to show up before asserting it did not.
            await new Promise((r) => setTimeout(r, 500));
            assert.equal(runtime.engine.stats().pipelines, 0);
            assert.equal(sim.stats.sessions, sessionsBefore, 'the camera saw no RTSP session');
            // Nobody watches and nothing is pulled: the gateway reports the camera idle rather than guess.
            assert.equal(runtime.cameraStates.get('front-door')?.state, 'idle');
          });
        }
      });

      it('refuses a media address that is not an IPv4 address and starts no engine', async () => {
        const flow = [
          gateway(env.tunnelUrl, { cameras: [], mediaAddress: 'eth0' }),
          { id: 'ev', type: 'camgate-events', gateway: 'gw1', wires: [[]] },
        ];
        await helper.load(ALL, flow, { gw1: { secret: fx.GATEWAY_SECRET } });
        const gw = helper.getNode('gw1');
        await gw.runtime.ready;
        assert.equal(gw.runtime.state, 'failed');
        assert.equal(gw.runtime.info.reason, 'media address: "eth0" is not an IPv4 address');
        assert.equal(gw.runtime.engine, undefined);
        assert.equal(gw.runtime.gateway, undefined);
      });
    });

    describe('camgate-flags', () => {
      it('emits each transition once and filters by kind and camera', async () => {
        const flow = [
          camera(),
          gateway('ws://127.0.0.1:9/tunnel'),
          { id: 'f1', type: 'camgate-flags', gateway: 'gw1', kind: 'all', wires: [['o1']] },
          { id: 'f2', type: 'camgate-flags', gateway: 'gw1', kind: 'telnet-open', cameraId: 'other', wires: [['o2']] },
          { id: 'o1', type: 'helper' },
          { id: 'o2', type: 'helper' },
        ];
        await helper.load(ALL, flow);
        const runtime = helper.getNode('gw1').runtime;
        await runtime.ready;
        const o1 = collector(helper.getNode('o1'));
        const o2 = collector(helper.getNode('o2'));
        const obs = {
          kind: 'telnet-open',
          gatewayId: fx.GATEWAY_ID,
          cameraId: 'front-door',
          key: 'port-23',
          evidence: [{ host: '127.0.0.1', port: 23, protocol: 'telnet', at: new Date().toISOString() }],
          advice: 'turn telnet off',
          source: 'gateway',
        };
        await runtime.store.raise(obs);
        await runtime.store.raise(obs); // seen again: no second alert
        const m = await o1.next();
        assert.equal(m.payload.to, 'raised');
        assert.equal(m.payload.flag.kind, 'telnet-open');
        assert.equal(m.topic, `camgate/${fx.GATEWAY_ID}/flags/${m.payload.flag.id}`);
        assert.equal(o1.msgs.length, 1);
        assert.equal(o2.msgs.length, 0, 'filtered out: other camera');
      });
    });

    describe('camgate-exposure', () => {
      it('audits on input: raises telnet-open, reports the summary, shows "at risk", clears after two clean audits', async () => {
        const telnet = await fx.startTelnet();
        after(() => telnet.close());
        const flow = [
          camera(),
          gateway('ws://127.0.0.1:9/tunnel'),
          {
            id: 'ex',
            type: 'camgate-exposure',
            gateway: 'gw1',
            telnetPorts: String(telnet.port),
            upnp: false,
            intervalMin: 0,
            wires: [['flags'], ['sum']],
          },
          { id: 'flags', type: 'helper' },
          { id: 'sum', type: 'helper' },
        ];
        await helper.load(ALL, flow, creds());
        const ex = helper.getNode('ex');
        const flags = collector(helper.getNode('flags'));
        const sum = collector(helper.getNode('sum'));
        const atRisk = statusOf(ex, (s) => /at risk/.test(s.text));
        ex.receive({ payload: 'go', topic: 'nightly' });
        const raised = await flags.next();
        assert.equal(raised.payload.to, 'raised');
        assert.equal(raised.payload.flag.kind, 'telnet-open');
        assert.equal(raised.payload.flag.cameraId, 'front-door');
        assert.equal(raised.payload.flag.evidence[0].port, telnet.port);
        const s1 = await sum.next();
        assert.deepEqual(s1.payload.checked, ['telnet-open']);
        assert.equal(s1.payload.exposure.state, 'at-risk');
        assert.equal(s1.payload.raised, 1);
        assert.equal(s1.topic, `camgate/${fx.GATEWAY_ID}/audit`);
        assert.equal((await atRisk).fill, 'yellow');
        assertNoSecrets('exposure output', [...flags.msgs, ...sum.msgs]);

        await telnet.close();
        const ok = statusOf(ex, (s) => s.text === 'ok');
        ex.receive({ payload: 'go' });
        await sum.next((m) => m !== s1);
        ex.receive({ payload: 'go' });
        const cleared = await flags.next((m) => m.payload.to === 'cleared');
        assert.equal(cleared.payload.flag.id, raised.payload.flag.id);
        assert.equal((await ok).fill, 'green');
      });

      /**
       * An exposure node auditing a port that accepts and never answers (its audits stay busy until the node
       * closes), wired to a Catch node; resolves with the exposure node and a collector on the Catch output.
       */
      async function busyAuditWithCatch(extra = {}) {
        const hang = require('node:net').createServer(() => {});
        await new Promise((r) => hang.listen(0, '127.0.0.1', r));
        after(() => new Promise((r) => hang.close(r)));
        const flow = [
          { id: 't1', type: 'tab' },
          camera(),
          gateway('ws://127.0.0.1:9/tunnel'),
          {
            id: 'ex',
            z: 't1',
            type: 'camgate-exposure',
            gateway: 'gw1',
            upnp: false,
            telnetPorts: String(hang.address().port),
            wires: [[], []],
            ...extra,
          },
          { id: 'c', z: 't1', type: 'catch', scope: null, uncaught: false, wires: [['out']] },
          { id: 'out', z: 't1', type: 'helper' },
        ];
        const catchNode = require(
          require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [require.resolve(nodeRedPackage)] }),
        );
        await helper.load([...ALL, catchNode], flow, creds());
        return { ex: helper.getNode('ex'), out: collector(helper.getNode('out')) };
      }

      it('fails a trigger that arrives while an audit runs with done(err), which a Catch node sees', async () => {
        const { ex, out } = await busyAuditWithCatch();
        ex.receive({ payload: 1 });
        ex.receive({ payload: 2 });
        const m = await out.next();
        assert.equal(m.payload, 2);
        assert.match(m.error.message, /an audit is already running/);
        assert.equal(m.error.source.id, 'ex');
        await helper.unload(); // aborts the running audit: close must not wait for the probe's timeout
      });

      it('hands a failed scheduled audit to Catch nodes with a message of its own', async () => {
        // The first scheduled audit stays busy; the next tick fails.
        const { out } = await busyAuditWithCatch({ intervalMin: 0.01 }); // 0.6 s: the schedule, fast
        const m = await out.next();
        assert.equal(m.topic, 'camgate/home-1/audit');
        assert.deepEqual(m.payload, { trigger: 'schedule' });
        assert.match(m.error.message, /an audit is already running/);
        assert.equal(m.error.source.id, 'ex');
        await helper.unload();
      });

      it('rejects a bad schedule and bad telnet ports', async () => {
        const flow = [
          gateway('ws://127.0.0.1:9/tunnel', { cameras: [] }),
          { id: 'e1', type: 'camgate-exposure', gateway: 'gw1', intervalMin: -5, wires: [[], []] },
          { id: 'e2', type: 'camgate-exposure', gateway: 'gw1', telnetPorts: '23, 0', wires: [[], []] },
        ];
        await helper.load(ALL, flow);
        const e1 = helper.getNode('e1');
        const e2 = helper.getNode('e2');
        // helper wraps Node.prototype.error with a sinon spy: the message names the option and the value.
        const said = (n) =>
          n.error
            .getCalls()
            .filter((c) => c.thisValue === n)
            .map((c) => String(c.args[0]))
            .join('\n');
        assert.match(said(e1), /intervalMin: -5 is not a number of minutes/);
        assert.match(said(e2), /telnet ports: "0" is not a port number/);
      });
    });
  });
}

module.exports = { defineNodeTests };
