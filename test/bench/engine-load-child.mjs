// The built-in engine alone in a process for test/bench/engine-load.ts, run by plain `node` (no tsx,
// which alone adds about 20 MB of RSS) on the built output, importing the engine's own entry point
// rather than the whole of @camgate/core: the memory a user's `camgate engine` pays for. Prints one JSON
// line `{"url": …}` when listening; exits when its stdin closes or on SIGTERM.
import { pathToFileURL } from 'node:url';

// argv[2]: another build's engine entry point (a baseline to compare with, bench:engine-load --base).
const entry = process.argv[2] ? pathToFileURL(process.argv[2]).href : '../../gateway-core/dist/engine/index.js';
const { KurentoEngine } = await import(entry);

const engine = await KurentoEngine.start({ port: 0, interfaceAddress: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: engine.url })}\n`);
let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  engine.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
// ENGINE_LOAD_MEM=ms: where the memory is, every ms (process.memoryUsage, MiB), on stderr.
if (process.env.ENGINE_LOAD_MEM) {
  const mb = (x) => Math.round(x / 104857.6) / 10;
  setInterval(() => {
    const m = process.memoryUsage();
    process.stderr.write(
      `engine memory: rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} ` +
        `external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}\n`,
    );
  }, Number(process.env.ENGINE_LOAD_MEM)).unref();
}
// SIGUSR2 (bench:engine-load --heap, which runs this node with --expose-gc): one JSON line, what stays
// after a full GC: the memory the viewers retain rather than their garbage awaiting collection (MiB).
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const mb = (x) => Math.round(x / 104857.6) / 10;
  const m = process.memoryUsage();
  const retained = {
    rss: mb(m.rss),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    arrayBuffers: mb(m.arrayBuffers),
  };
  process.stdout.write(`${JSON.stringify(retained)}\n`);
});
