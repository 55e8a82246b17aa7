/**
 * Issue 14, "Publishable packages": what each published package's tarball
 * holds (`npm pack --dry-run --json`, of the current build — `npm run build`
 * first, as `npm test` does), its manifest, and that the READMEs' Install
 * sections say the commands the registry test runs. Fast: nothing is built or
 * installed here; test/e2e/registry.test.ts does that against a registry.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { installCommands, REPO_ROOT } from '../e2e/helpers/install-steps.js';
import { cleanEnv, publishableWorkspaces, run } from '../e2e/helpers/registry.js';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  bin?: Record<string, string>;
  exports?: Record<string, { default: string }>;
  files?: string[];
  scripts?: Record<string, string>;
  engines?: Record<string, string>;
  keywords?: string[];
  dependencies?: Record<string, string>;
  publishConfig?: { access?: string };
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

const manifest = async (dir: string): Promise<Manifest> =>
  JSON.parse(await readFile(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as Manifest;

/** The tarball's file list as `npm pack` would make it now (no lifecycle scripts: the repository's .npmrc). */
async function packList(dir: string): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '-w', dir], {
    cwd: REPO_ROOT,
    env: cleanEnv(),
    timeoutMs: 120_000,
  });
  return (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

const workspaces = await publishableWorkspaces(REPO_ROOT);

describe('published packages', () => {
  it('are the core, the Node-RED nodes and the Homebridge plugin (and the simulator, where it is a package)', () => {
    const names = workspaces.map((w) => w.name);
    for (const n of ['@camgate/core', 'node-red-contrib-camgate', 'homebridge-camgate'])
      assert.ok(names.includes(n), n);
  });

  for (const ws of workspaces) {
    describe(ws.name, () => {
      it('ships its entry points and no tests, source maps or build info', async () => {
        const pkg = await manifest(ws.dir);
        const files = await packList(ws.dir);
        const entries = [
          pkg.main,
          ...Object.values(pkg.bin ?? {}),
          pkg.exports?.['.']?.default,
          ...Object.values(pkg['node-red']?.nodes ?? {}),
        ]
          .filter((e): e is string => typeof e === 'string')
          .map((e) => e.replace(/^\.\//, ''));
        assert.ok(entries.length > 0, 'the package names an entry point (main, bin, exports or node-red nodes)');
        for (const e of entries) assert.ok(files.includes(e), `${e} is in the tarball (run npm run build first)`);
        assert.deepEqual(
          files.filter((f) => /(^|\/)test\/|\.test\.|\.map$|tsbuildinfo/.test(f)),
          [],
        );
        assert.ok(files.includes('README.md') && files.includes('package.json'));
      });

      it('builds in prepack, needs Node 22.13, and depends on its siblings by caret range', async () => {
        const pkg = await manifest(ws.dir);
        if (pkg.scripts?.build) {
          assert.match(pkg.scripts.prepack ?? '', /npm run build/, 'prepack builds the package');
        }
        // Node 22.13: node:sqlite (the hub's sign-ins); Homebridge's plugin checks want explicit majors.
        assert.ok(
          ['>=22.13.0', '^22.13.0 || ^24.0.0'].includes(pkg.engines?.node ?? ''),
          `engines.node ${pkg.engines?.node}`,
        );
        for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
          const sibling = workspaces.find((w) => w.name === dep);
          if (sibling) assert.equal(range, `^${sibling.version}`, `${dep}: a real range, not * or file:`);
        }
        // A scoped package is private on the public registry unless published with access public.
        if (pkg.name.startsWith('@')) assert.equal(pkg.publishConfig?.access, 'public');
      });
    });
  }

  it('node-red-contrib-camgate is found by the palette manager and declares its nodes', async () => {
    const pkg = await manifest('nodes');
    assert.ok(pkg.keywords?.includes('node-red'), 'the Node-RED library lists packages with the node-red keyword');
    assert.match(pkg['node-red']?.version ?? '', /^>=4/);
    assert.ok(Object.keys(pkg['node-red']?.nodes ?? {}).length > 0);
  });

  it('homebridge-camgate is found by Homebridge and its UI', async () => {
    const pkg = await manifest('homebridge-plugin');
    assert.ok(pkg.keywords?.includes('homebridge-plugin'), 'Homebridge loads packages with this keyword only');
    assert.match(pkg.engines?.homebridge ?? '', /\^1\.11\.0 \|\| \^2\.0\.0/);
    assert.ok(pkg.files?.includes('config.schema.json'), 'the UI renders the settings from config.schema.json');
  });
});

describe('README Install sections', () => {
  // test/e2e/registry.test.ts runs these lines word for word (helpers/install-steps.ts reads them); a change here
  // is a change of what users are told, so it is pinned.
  it('say the commands the registry test runs', () => {
    assert.deepEqual(installCommands('root'), ['npm install -g @camgate/core @camgate/camera-sim', 'camgate demo']);
    assert.deepEqual(installCommands('core'), ['npm install @camgate/core']);
    assert.deepEqual(installCommands('nodes'), ['cd ~/.node-red', 'npm install node-red-contrib-camgate']);
    assert.deepEqual(installCommands('homebridge'), ['npm install -g homebridge-camgate']);
  });

  it('name only packages this repository publishes', () => {
    const names = new Set(workspaces.map((w) => w.name));
    for (const readme of ['root', 'core', 'nodes', 'homebridge'] as const) {
      for (const cmd of installCommands(readme).filter((c) => c.startsWith('npm install'))) {
        for (const arg of cmd
          .split(/\s+/)
          .slice(2)
          .filter((a) => !a.startsWith('-'))) {
          assert.ok(names.has(arg), `${readme} README installs ${arg}, which is not a published workspace`);
        }
      }
    }
  });

  it('are the steps the registry test follows', async () => {
    const e2e = await readFile(join(REPO_ROOT, 'test/e2e/registry.test.ts'), 'utf8');
    for (const call of [
      "installCommand('root', 'npm install -g')",
      "installCommand('root', 'camgate demo')",
      "installCommand('core', 'npm install')",
      "installCommand('nodes', 'npm install')",
      "installCommand('homebridge', 'npm install -g')",
    ]) {
      assert.ok(e2e.includes(call), `registry.test.ts runs ${call}`);
    }
  });
});
