/**
 * A private npm registry for the install tests: Verdaccio (the npm package) as
 * a child process on a free loopback port, with its own config, storage and
 * user in a temporary directory, and an npm environment that talks only to it
 * (its own userconfig, globalconfig, cache and global prefix, so the user's
 * npm cache and settings are untouched).
 *
 * Our packages are served from Verdaccio's storage only (no `proxy`): an
 * install can never pick up a same-named package from upstream. Everything
 * else (third-party dependencies) is proxied to the registry the machine's npm
 * is configured with (`npm config get registry`), read at run time.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** How long one npm command may take: installs through a proxying registry are slow on a loaded machine. */
const NPM_TIMEOUT_MS = 8 * 60_000;
const START_TIMEOUT_MS = 90_000;

/** The names we publish; Verdaccio serves them from its own storage and never asks upstream. */
const OWN_PACKAGES = ['@camgate/*', 'node-red-contrib-camgate', 'homebridge-camgate'];

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** process.env without npm's own variables (npm run sets npm_config_* from the project's .npmrc). */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs `file args` (an argument array, no shell) and rejects with its output on a non-zero exit or after `timeoutMs`. */
export function run(
  file: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? NPM_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')} failed (${err.message}):\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

export interface Registry {
  url: string;
  /** The temporary directory holding Verdaccio's files and the npm environment's. */
  dir: string;
  /** The npm global prefix installs with `-g` go to (`PREFIX/bin`, `PREFIX/lib/node_modules`). */
  prefix: string;
  /** An environment for npm (and for programs that run npm) that uses only this registry. */
  env: NodeJS.ProcessEnv;
  log(): string;
  close(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-registry-'));
  const base = cleanEnv();
  // The upstream for third-party packages: whatever this machine's npm uses.
  const upstream = (await run('npm', ['config', 'get', 'registry'], { cwd: dir, env: base })).stdout.trim();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const own = OWN_PACKAGES.map(
    (name) => `  '${name}':\n    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n`,
  ).join('');
  const config = `storage: ${JSON.stringify(join(dir, 'storage'))}
auth:
  htpasswd:
    file: ${JSON.stringify(join(dir, 'htpasswd'))}
    max_users: 1
uplinks:
  upstream:
    url: ${JSON.stringify(upstream)}
    timeout: 120s
    max_fails: 5
packages:
${own}  '**':
    access: $all
    proxy: upstream
web:
  enable: false
max_body_size: 100mb
log: { type: stdout, format: pretty, level: warn }
`;
  await writeFile(join(dir, 'config.yaml'), config);
  const bin = join(dirname(require.resolve('verdaccio/package.json')), 'bin', 'verdaccio');
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, '--config', join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    {
      cwd: dir,
      env: base,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Verdaccio exited early:\n${log}`);
      const ok = await fetch(`${url}-/ping`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`Verdaccio did not answer within ${START_TIMEOUT_MS} ms:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // A user for publishing, made the way `npm adduser` does (CouchDB user document; Verdaccio's htpasswd plugin).
    const user = 'camgate-e2e';
    const res = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: user, password: `pw-${port}-${Date.now()}`, type: 'user', roles: [] }),
    });
    const body = (await res.json()) as { token?: string };
    if (!res.ok || !body.token)
      throw new Error(`creating the registry user failed: ${res.status} ${JSON.stringify(body)}`);
    const prefix = join(dir, 'global');
    await mkdir(prefix, { recursive: true });
    const userconfig = join(dir, 'npmrc');
    const globalconfig = join(dir, 'global-npmrc');
    // ignore-scripts as in the repository's .npmrc: none of our dependencies needs an install script.
    await writeFile(
      userconfig,
      [
        `registry=${url}`,
        `//127.0.0.1:${port}/:_authToken=${body.token}`,
        `cache=${join(dir, 'npm-cache')}`,
        `prefix=${prefix}`,
        'audit=false',
        'fund=false',
        'update-notifier=false',
        'ignore-scripts=true',
        '',
      ].join('\n'),
    );
    await writeFile(globalconfig, '');
    const env: NodeJS.ProcessEnv = {
      ...base,
      npm_config_userconfig: userconfig,
      npm_config_globalconfig: globalconfig,
      PATH: `${join(prefix, 'bin')}:${base.PATH ?? ''}`,
    };
    return { url, dir, prefix, env, log: () => log, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface PackedPackage {
  name: string;
  version: string;
  tarball: string;
  /** Tarball size, bytes. */
  size: number;
  /** Sum of the unpacked files, bytes. */
  unpackedSize: number;
  files: string[];
}

/**
 * `npm pack` of one workspace with its lifecycle scripts on (the repository's .npmrc turns them off for
 * installs), so `prepack` builds the package as it would for `npm publish`.
 */
export async function packWorkspace(root: string, workspace: string, dest: string): Promise<PackedPackage> {
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts=false', '--pack-destination', dest, '-w', workspace],
    { cwd: root, env: cleanEnv() },
  );
  // Lifecycle scripts (prepack's tsc) print before npm's JSON array, which starts on a line of its own.
  const json = JSON.parse(stdout.startsWith('[') ? stdout : stdout.slice(stdout.lastIndexOf('\n[\n') + 1)) as {
    name: string;
    version: string;
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  const p = json[0]!;
  return {
    name: p.name,
    version: p.version,
    tarball: join(dest, p.filename),
    size: p.size,
    unpackedSize: p.unpackedSize,
    files: p.files.map((f) => f.path),
  };
}

/** The workspaces of the root package.json that are published (not `private`). */
export async function publishableWorkspaces(root: string): Promise<{ dir: string; name: string; version: string }[]> {
  const rootPkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const out = [];
  for (const dir of rootPkg.workspaces) {
    const pkg = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      private?: boolean;
    };
    if (!pkg.private) out.push({ dir, name: pkg.name, version: pkg.version });
  }
  return out;
}

/** Total size of the files under `path`, bytes (what an install puts on disk, dependencies included). */
export async function duBytes(path: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', path], { cwd: tmpdir(), env: cleanEnv(), timeoutMs: 60_000 });
  return Number(stdout.split('\t')[0]);
}
