/**
 * The hub under attack, in its own process so its CPU time is its own
 * (`process.cpuUsage`) and its sockets can be counted (the parent reads
 * `/proc/PID/fd`: a hub out of file descriptors could not do it itself).
 * `CAMGATE_CORE` may name another build of @camgate/core (e.g. main's) so
 * the same attacks can be run before and after a change.
 */
type Core = typeof import('@camgate/core') & {
  mintApiToken?: () => Promise<{ id: string; token: string; stored: string }>;
};
const core = (await import(process.env.CAMGATE_CORE ?? '@camgate/core')) as Core;
const cfg = JSON.parse(process.env.HUB_ABUSE_ARGS ?? '{}') as {
  usersFile: string;
  gatewayId: string;
  secret: string;
  tokens: number;
};

// Several API tokens, as an operator with a few automations has: before ids, each costs one scrypt per request.
const tokens: { token: string; stored: string; id: string | undefined }[] = [];
for (let i = 0; i < cfg.tokens; i++) {
  if (core.mintApiToken) tokens.push(await core.mintApiToken());
  else {
    const token = core.generateSecret();
    tokens.push({ token, stored: await core.hashSecret(token), id: undefined });
  }
}
const hub = await core.Hub.start({
  listen: { host: '127.0.0.1', port: 0 },
  kurento: { port: 0 },
  gateways: [{ id: cfg.gatewayId, name: 'Home', secretHash: await core.makeVerifier(cfg.secret) }],
  apiTokenHashes: tokens.map((t) => t.stored),
  viewer: {
    usersFile: cfg.usersFile,
    // Tests and benches send traffic to loopback only.
    acceptBrowserCandidate: (c: string) => c.split(' ')[4] === '127.0.0.1',
  },
});

process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') {
    const cpu = process.cpuUsage();
    const guard = (hub as unknown as { connections?: { stats: unknown } }).connections?.stats;
    process.send!({ type: 'stats', cpuS: (cpu.user + cpu.system) / 1e6, guard });
  } else if (m.type === 'close') {
    void hub.close().then(() => process.exit(0));
  }
});
process.send!({
  type: 'ready',
  url: hub.url,
  tunnelUrl: hub.tunnelUrl,
  token: tokens[0]!.token,
  // The id part of a real token: ids appear in logs and configs, so an attacker may know one.
  knownIdPrefix: tokens[0]!.id === undefined ? undefined : tokens[0]!.token.split('.')[0],
});
