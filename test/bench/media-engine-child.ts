/**
 * The built-in engine alone in its own process, so `bench:media` can read its
 * CPU time and RSS from /proc/<pid>/ without the camera simulator, Chromium or
 * the benchmark itself in the figures. Prints one JSON line `{"url": …}` when
 * listening; exits when its stdin closes (the parent went away) or on SIGTERM.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The built output when `npm run build` made it (what users run); the sources otherwise.
const dist = fileURLToPath(new URL('../../gateway-core/dist/engine/index.js', import.meta.url));
const mod = (
  existsSync(dist) ? await import(dist) : await import('../../gateway-core/src/engine/index.js')
) as typeof import('../../gateway-core/src/engine/index.js');

const engine = await mod.KurentoEngine.start({ port: 0, interfaceAddress: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: engine.url, build: existsSync(dist) ? 'dist' : 'src' })}\n`);
let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  engine.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
