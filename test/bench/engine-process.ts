/**
 * The built-in engine as a user runs it: `camgate engine` from the built CLI
 * (`gateway-core/dist/cli/main.js`, plain `node`, no tsx loader), alone in its
 * process, so `bench:media` reads its CPU time and RSS from /proc/<pid>/
 * without the camera simulator, Chromium or the benchmark in the figures.
 * The engine trusts only clients holding its token: it is created in a
 * temporary token file and added to the URL, as `camgate gateway` would.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../gateway-core/dist/cli/main.js', import.meta.url));

export interface EngineProcess {
  /** ws://127.0.0.1:PORT/kurento?token=… */
  url: string;
  pid: number;
  close(): Promise<void>;
}

export async function startEngineProcess(): Promise<EngineProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-bench-engine-'));
  const tokenFile = join(dir, 'engine-token');
  const child = spawn(process.execPath, [CLI, 'engine', '--port', '0', '--token-file', tokenFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const lines = createInterface({ input: child.stdout! });
    const listening = new Promise<string>((resolve) =>
      lines.on('line', (line) => {
        const m = /Kurento protocol at (ws:\/\/\S+\/kurento)/.exec(line);
        if (m) resolve(m[1]!);
      }),
    );
    const url = await Promise.race([
      listening,
      exited.then(() => {
        throw new Error('bench: `camgate engine` exited before listening (is the build there? npm run build)');
      }),
    ]);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    return { url: `${url}?token=${encodeURIComponent(token)}`, pid: child.pid!, close };
  } catch (err) {
    await close();
    throw err;
  }
}
