/**
 * The built-in engine alone in its own process, so `bench:media` can read its
 * CPU time and RSS from /proc/<pid>/ without the camera simulator, Chromium or
 * the benchmark itself in the figures. Prints one JSON line `{"url": …}` when
 * listening; exits when its stdin closes (the parent went away) or on SIGTERM.
 */
import { KurentoEngine } from '@camgate/core';

const engine = await KurentoEngine.start({ port: 0, interfaceAddress: '127.0.0.1' });
// `npm run bench:media` builds first, so this is the built output users run (src only under camgate-source).
const build = import.meta.resolve('@camgate/core').includes('/dist/') ? 'dist' : 'src';
process.stdout.write(`${JSON.stringify({ url: engine.url, build })}\n`);
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
