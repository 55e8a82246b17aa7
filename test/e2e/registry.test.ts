/**
 * Issue 14, "Proven with a real registry": the packages are packed (their
 * `prepack` builds them), published to a private registry (Verdaccio on
 * loopback) and installed from it by name, the way the READMEs tell users:
 *
 * - `@camgate/core` into a project, as a library (gateway-core/README.md);
 * - `node-red-contrib-camgate` into a fresh Node-RED user dir through the
 *   palette manager's admin API (`POST /nodes`), then Node-RED is restarted
 *   and an example from the installed package is deployed; and with
 *   `npm install` in a second user dir (nodes/README.md);
 * - `homebridge-camgate` with `npm install -g` into a temporary prefix, where
 *   Homebridge finds it as it finds a user's global plugins, then paired with
 *   `hap-controller` (homebridge-plugin/README.md);
 * - `@camgate/core` and `@camgate/camera-sim` globally, and `camgate demo` run
 *   from there until its viewer answers (README.md).
 *
 * The commands are read from the READMEs' Install sections
 * (helpers/install-steps.ts) and run word for word; the registry is the only
 * difference, set by the npm environment (helpers/registry.ts). Everything
 * listens on loopback; third-party dependencies come through Verdaccio's
 * proxy from the registry this machine's npm uses. The installed sizes are
 * printed for the release notes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpClient } from 'hap-controller';
import { installCommand, REPO_ROOT } from './helpers/install-steps.js';
import { startHomebridge, startNodeRed, startProc, writeNodeRedSettings } from './helpers/installed-runtimes.js';
import {
  duBytes,
  freePort,
  packWorkspace,
  publishableWorkspaces,
  run,
  startRegistry,
  type PackedPackage,
  type Registry,
} from './helpers/registry.js';

const NODES = 'node-red-contrib-camgate';
const HAP_NAME = '00000023-0000-1000-8000-0026BB765291'; // HAP R2 §9.62 Name
const HAP_RTP_STREAM = '00000110-0000-1000-8000-0026BB765291'; // HAP R2 §8.6 Camera RTP Stream Management
const STEP_TIMEOUT_MS = 15 * 60_000;

const norm = (t: string): string =>
  (t.length <= 8 ? `${t.padStart(8, '0')}-0000-1000-8000-0026BB765291` : t).toUpperCase();

async function until(what: string, pred: () => boolean, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const kB = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

describe('installing camgate from a registry (Verdaccio on loopback)', () => {
  let reg: Registry;
  let work: string;
  const packed = new Map<string, PackedPackage>();
  const installed: { what: string; bytes: number }[] = [];

  before(
    async () => {
      work = await mkdtemp(join(tmpdir(), 'camgate-registry-work-'));
      reg = await startRegistry();
      const packDir = join(work, 'tarballs');
      await mkdir(packDir);
      // Dependencies first: a package is published after the ones it depends on.
      for (const ws of await publishableWorkspaces(REPO_ROOT)) {
        const p = await packWorkspace(REPO_ROOT, ws.dir, packDir);
        await run('npm', ['publish', p.tarball], { cwd: work, env: reg.env });
        packed.set(p.name, p);
      }
    },
    { timeout: STEP_TIMEOUT_MS },
  );

  after(async () => {
    if (packed.size > 0) {
      console.log('package sizes (tarball / unpacked):');
      for (const p of packed.values()) {
        console.log(`  ${p.name}@${p.version}: ${kB(p.size)} / ${kB(p.unpackedSize)}, ${p.files.length} files`);
      }
    }
    if (installed.length > 0) {
      console.log('installed from the registry, dependencies included:');
      for (const i of installed) console.log(`  ${i.what}: ${(i.bytes / 1e6).toFixed(1)} MB on disk`);
    }
    await reg?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('publishes every package, built by prepack, with real version ranges on each other', async () => {
    const workspaces = await publishableWorkspaces(REPO_ROOT);
    assert.deepEqual([...packed.keys()].sort(), workspaces.map((w) => w.name).sort());
    for (const ws of workspaces) {
      const p = packed.get(ws.name)!;
      const pkg = JSON.parse(await readFile(join(REPO_ROOT, ws.dir, 'package.json'), 'utf8')) as {
        main?: string;
        bin?: Record<string, string>;
        exports?: Record<string, { default: string }>;
        'node-red'?: { nodes?: Record<string, string> };
        dependencies?: Record<string, string>;
      };
      // What the package's entry points name is in the tarball: prepack built it.
      const entries = [
        pkg.main,
        ...Object.values(pkg.bin ?? {}),
        pkg.exports?.['.']?.default,
        ...Object.values(pkg['node-red']?.nodes ?? {}),
      ]
        .filter((e): e is string => typeof e === 'string')
        .map((e) => e.replace(/^\.\//, ''));
      for (const e of entries) assert.ok(p.files.includes(e), `${ws.name}: ${e} is in the tarball`);
      assert.deepEqual(
        p.files.filter((f) => /(^|\/)test\/|\.test\.|\.map$|tsbuildinfo/.test(f)),
        [],
        `${ws.name}: no tests, source maps or build info in the tarball`,
      );
      // Each sibling dependency is a caret range that the published sibling satisfies.
      for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
        const sibling = workspaces.find((w) => w.name === dep);
        if (sibling) assert.equal(range, `^${sibling.version}`, `${ws.name} → ${dep}`);
      }
      // The simulator is a package of its own, not inside the library users install into Node-RED and Homebridge.
      if (ws.name === '@camgate/core') {
        assert.deepEqual(
          p.files.filter((f) => /(^|\/)sim\//.test(f)), // the CLI's camera-sim command loads the package
          [],
          'no simulator in @camgate/core',
        );
      }
      const { stdout } = await run('npm', ['view', ws.name, 'version'], { cwd: work, env: reg.env });
      assert.equal(stdout.trim(), ws.version, `${ws.name} is served by the registry`);
    }
  });

  it('installs @camgate/core into a project as gateway-core/README.md says', { timeout: STEP_TIMEOUT_MS }, async () => {
    const project = join(work, 'app');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const [npm, ...args] = installCommand('core', 'npm install');
    await run(npm!, args, { cwd: project, env: reg.env });
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const c = await import('@camgate/core'); console.log(typeof c.Hub, typeof c.Gateway)",
      ],
      { cwd: project, env: reg.env },
    );
    assert.equal(stdout.trim(), 'function function');
    assert.ok(!existsSync(join(project, 'node_modules', '@camgate', 'camera-sim')), 'the simulator is not pulled in');
    installed.push({
      what: '@camgate/core in a project (node_modules)',
      bytes: await duBytes(join(project, 'node_modules')),
    });
  });

  it(
    'installs node-red-contrib-camgate through the palette manager, restarts and deploys an example',
    { timeout: STEP_TIMEOUT_MS },
    async (t) => {
      const userDir = join(work, 'node-red');
      await mkdir(userDir);
      const port = await writeNodeRedSettings(userDir);
      let nr = await startNodeRed(userDir, port, reg.env);
      t.after(() => nr.stop());
      // Menu → Manage palette → Install → node-red-contrib-camgate is this request (the editor's palette manager).
      const module = installCommand('nodes', 'npm install').at(-1)!;
      assert.equal(module, NODES);
      const added = (await nr.api('POST', '/nodes', { module })) as { name: string; nodes: { types: string[] }[] };
      assert.equal(added.name, NODES);
      const types = added.nodes.flatMap((s) => s.types);
      assert.ok(types.includes('camgate-gateway') && types.includes('camgate-camera'), `types: ${types.join(', ')}`);

      const listed = (await nr.api('GET', '/nodes', undefined, { accept: 'application/json' })) as { module: string }[];
      assert.ok(
        listed.some((s) => s.module === NODES),
        'GET /nodes lists the module right after the install',
      );

      // Restart: the module loads from the user dir's node_modules, as after any restart.
      await nr.stop();
      nr = await startNodeRed(userDir, port, reg.env);
      const sets = (await nr.api('GET', '/nodes', undefined, { accept: 'application/json' })) as {
        module: string;
        types: string[];
        err?: string;
      }[];
      const ours = sets.filter((s) => s.module === NODES);
      assert.ok(ours.length > 0, 'the installed module is loaded after the restart');
      assert.deepEqual(
        ours.filter((s) => s.err),
        [],
        'no node set failed to load',
      );
      const installedTypes = new Set(sets.flatMap((s) => s.types));

      // Import → Examples → node-red-contrib-camgate, from the installed package's examples/.
      const listing = (await nr.api('GET', `/library/examples/flows/${NODES}`)) as { fn: string }[];
      assert.ok(listing.length > 0, 'the installed package lists examples');
      const example = listing.map((e) => e.fn).sort()[0]!;
      const flow = (await nr.api('GET', `/library/examples/flows/${NODES}/${example}`)) as { type: string }[];
      const mark = nr.output().length;
      const { rev } = (await nr.api('GET', '/flows')) as { rev: string };
      await nr.api('POST', '/flows', { rev, flows: flow }, { 'Node-RED-Deployment-Type': 'full' });
      await until('Node-RED to start the deployed example', () =>
        /Started (modified )?flows|Waiting for missing types/.test(nr.output().slice(mark)),
      );
      assert.deepEqual(
        nr
          .output()
          .slice(mark)
          .split('\n')
          .filter((l) => /\[error\]|missing types|unknown type/i.test(l)),
        [],
        `example "${example}" deploys with no errors`,
      );
      for (const n of flow) if (n.type !== 'tab') assert.ok(installedTypes.has(n.type), `${n.type} is installed`);
      installed.push({
        what: `${NODES} in a Node-RED user dir (node_modules)`,
        bytes: await duBytes(join(userDir, 'node_modules')),
      });
    },
  );

  it(
    'installs node-red-contrib-camgate with npm install in a user dir, as nodes/README.md says',
    { timeout: STEP_TIMEOUT_MS },
    async (t) => {
      const userDir = join(work, 'node-red-cli');
      await mkdir(userDir);
      // `cd ~/.node-red` is the working directory; then the README's npm command, word for word.
      const [npm, ...args] = installCommand('nodes', 'npm install');
      await run(npm!, args, { cwd: userDir, env: reg.env });
      const port = await writeNodeRedSettings(userDir);
      const nr = await startNodeRed(userDir, port, reg.env);
      t.after(() => nr.stop());
      const sets = (await nr.api('GET', '/nodes', undefined, { accept: 'application/json' })) as {
        module: string;
        types: string[];
      }[];
      const types = sets.filter((s) => s.module === NODES).flatMap((s) => s.types);
      assert.ok(types.includes('camgate-gateway'), `types after npm install: ${types.join(', ')}`);
    },
  );

  it(
    'installs homebridge-camgate with npm install -g; Homebridge loads it and hap-controller pairs',
    { timeout: STEP_TIMEOUT_MS },
    async (t) => {
      const [npm, ...args] = installCommand('homebridge', 'npm install -g');
      await run(npm!, args, { cwd: work, env: reg.env });
      const pluginDir = join(reg.prefix, 'lib', 'node_modules', 'homebridge-camgate');
      assert.ok(existsSync(join(pluginDir, 'dist', 'index.js')), 'the plugin is installed with its dist/');
      installed.push({ what: 'homebridge-camgate, global', bytes: await duBytes(pluginDir) });
      // A camera whose address nobody listens on: the tile exists whether or not the camera answers.
      const hb = await startHomebridge(
        [
          {
            platform: 'Camgate',
            name: 'camgate',
            cameras: [{ id: 'porch', name: 'Porch', url: `rtsp://127.0.0.1:${await freePort()}/stream` }],
            media: { interfaceAddress: '127.0.0.1' },
          },
        ],
        reg.env,
      );
      t.after(() => hb.stop());
      await hb.waitFor(/\[Porch\] added/);
      assert.doesNotMatch(hb.output(), /ERROR LOADING PLUGIN|No plugin was found for the platform/);
      const setup = new HttpClient(hb.username, '127.0.0.1', hb.port);
      await setup.pairSetup(hb.pin);
      const client = new HttpClient(hb.username, '127.0.0.1', hb.port, setup.getLongTermData()!);
      t.after(() => client.close());
      const { accessories } = (await client.getAccessories()) as {
        accessories: { services: { type: string; characteristics: { type: string; value?: unknown }[] }[] }[];
      };
      const porch = accessories.find((a) =>
        a.services.some((s) => s.characteristics.some((c) => norm(c.type) === HAP_NAME && c.value === 'Porch')),
      );
      assert.ok(porch, 'the Porch camera accessory is listed');
      assert.ok(
        porch.services.some((s) => norm(s.type) === HAP_RTP_STREAM),
        'with a camera stream service',
      );
    },
  );

  it(
    'installs the camgate command globally and runs camgate demo until its viewer answers',
    { timeout: STEP_TIMEOUT_MS },
    async (t) => {
      const [npm, ...args] = installCommand('root', 'npm install -g');
      await run(npm!, args, { cwd: work, env: reg.env });
      for (const name of args.slice(1).filter((a) => !a.startsWith('-'))) {
        installed.push({
          what: `${name}, global`,
          bytes: await duBytes(join(reg.prefix, 'lib', 'node_modules', name)),
        });
      }
      const [camgate, ...demoArgs] = installCommand('root', 'camgate demo');
      // The installed command itself (PREFIX/bin), with a free port instead of 8080 (the README says --port 0).
      const demo = startProc(join(reg.prefix, 'bin', camgate!), [...demoArgs, '--port', '0'], {
        cwd: work,
        env: reg.env,
      });
      t.after(() => demo.stop());
      await demo.waitFor(/Open\s+http:\/\/127\.0\.0\.1:\d+\//);
      const url = /Open\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(demo.output())![1]!;
      assert.match(demo.output(), /Password\s+\S+/);
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<html/i);
    },
  );
});
