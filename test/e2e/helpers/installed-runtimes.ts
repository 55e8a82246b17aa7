/**
 * Node-RED and Homebridge as a user runs them, for the registry test: child
 * processes of the repository's dev dependencies (`node-red`, `homebridge`)
 * whose npm is the registry's environment, with nothing of this checkout
 * linked in — what they load, they installed from the registry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './registry.js';

const require = createRequire(import.meta.url);

/** Node-RED or Homebridge start in seconds idle; a loaded shared machine takes many times that. */
const START_TIMEOUT_MS = 180_000;

export interface Proc {
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves when the output matches `re`; rejects if the process exits first or after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startProc(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Proc {
  const child: ChildProcess = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => out,
    async waitFor(re, ms = START_TIMEOUT_MS) {
      const deadline = Date.now() + ms;
      while (!re.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${file} ${args.join(' ')} exited before printing ${re}:\n${out}`);
        }
        if (Date.now() > deadline) throw new Error(`no ${re} from ${file} within ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface NodeRed extends Proc {
  base: string;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<unknown>;
}

/**
 * Writes a settings file for a fresh user dir: loopback only, the palette manager on (it installs with npm
 * from the registry in `env`), no palette catalogue, telemetry, tours or projects (nothing else goes out).
 */
export async function writeNodeRedSettings(userDir: string): Promise<number> {
  // Node-RED needs a fixed port; pick a free one (bound then released) since uiPort 0 is not reported back.
  const port = await freePort();
  await writeFile(
    join(userDir, 'settings.js'),
    `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: 'registry-test-credential-secret',
  logging: { console: { level: 'info', metrics: false, audit: false } },
  telemetry: { enabled: false },
  diagnostics: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: true } },
  editorTheme: { tours: false, palette: { catalogues: [] }, projects: { enabled: false } },
};\n`,
  );
  return port;
}

export async function startNodeRed(userDir: string, port: number, env: NodeJS.ProcessEnv): Promise<NodeRed> {
  const redJs = require.resolve('node-red/red.js');
  const proc = startProc(process.execPath, [redJs, '--userDir', userDir, '--settings', join(userDir, 'settings.js')], {
    cwd: userDir,
    env: { ...env, NODE_RED_ENABLE_PROJECTS: 'false' },
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await proc.waitFor(/Started flows|Waiting for missing types/);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    ...proc,
    base,
    async api(method, path, body, headers = {}) {
      const res = await fetch(base + path, {
        method,
        headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10 * 60_000), // POST /nodes runs npm install
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}\n${proc.output()}`);
      return text ? JSON.parse(text) : undefined;
    },
  };
}

export interface Homebridge extends Proc {
  port: number;
  pin: string;
  username: string;
}

/**
 * Homebridge 2 on a fresh storage dir (`-U`) with `platforms`, finding plugins as it does for a user who ran
 * `npm install -g`: `--strict-plugin-resolution` without `-P` makes it look in `$(npm -g prefix)/lib/node_modules`
 * only, and `npm -g prefix` is the registry environment's prefix. mDNS is bound to `lo`.
 */
export async function startHomebridge(platforms: unknown[], env: NodeJS.ProcessEnv): Promise<Homebridge> {
  const storage = await mkdtemp(join(tmpdir(), 'camgate-registry-hb-'));
  const port = await freePort();
  const pin = '031-45-154';
  const username = `0E:${Array.from({ length: 5 }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0')
      .toUpperCase(),
  ).join(':')}`;
  const config = {
    bridge: { name: `camgate registry ${port}`, username, port, pin, advertiser: 'ciao', bind: ['lo'] },
    accessories: [],
    platforms,
  };
  await writeFile(join(storage, 'config.json'), JSON.stringify(config, null, 2));
  // `package.json` is not in Homebridge 2's exports map: go from its main (dist/index.js) to bin/.
  const bin = join(dirname(require.resolve('homebridge')), '..', 'bin', 'homebridge');
  const proc = startProc(process.execPath, [bin, '-U', storage, '--strict-plugin-resolution', '-I', '-D'], {
    cwd: storage,
    env: { ...env, NO_COLOR: '1' },
  });
  const stop = async (): Promise<void> => {
    await proc.stop();
    await rm(storage, { recursive: true, force: true });
  };
  try {
    await proc.waitFor(/is running on port/);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...proc, stop, port, pin, username };
}
