/**
 * A share of the simulated homes of `bench:hub`: `count` real TunnelClients
 * in this process, each with its own gateway id and secret, its own loopback
 * address (homes have their own public addresses; the hub's per-address
 * limits then see what they would see in production) and an announce of 4
 * cameras. Parameters in CAMGATE_BENCH_GATEWAYS (JSON `{first, count}`).
 *
 * IPC, in order:
 *   → `{type: 'verifiers', gateways: [{id, name, secretHash}]}` — made here with makeVerifier, as
 *     `camgate hub add-gateway` does; the secrets never leave this process;
 *   ← `{type: 'start', tunnelUrl, fingerprint256}` — dial (certificate pinned), BATCH at a time;
 *   ← `{type: 'status'}` → `{type: 'status', connected, connectedAt[], scryptRuns, states, failures}`
 *     (failures: why attempts failed since the last status).
 * Loopback only; exits when the parent goes away.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type TunnelModule = typeof import('../src/tunnel/index.js');
type TunnelClient = InstanceType<TunnelModule['TunnelClient']>;

// The tunnel's client is internal to the core (not in its public face), hence this bench's place.
const dist = fileURLToPath(new URL('../dist/tunnel/index.js', import.meta.url));
const tunnel = (existsSync(dist) ? await import(dist) : await import('../src/tunnel/index.js')) as TunnelModule;

const cfg = JSON.parse(process.env.CAMGATE_BENCH_GATEWAYS ?? '{}') as { first: number; count: number };
if (!Number.isSafeInteger(cfg.first) || !Number.isSafeInteger(cfg.count) || cfg.count < 1) {
  throw new Error('hub-gateways-child: CAMGATE_BENCH_GATEWAYS must be {"first": N, "count": N}');
}
/** Clients dialling at once during the first start (each runs one scrypt then; later reconnects run none). */
const BATCH = 25;
const CAMERAS = 4;

/** Home n's address: 127.20.x.y, one per home (all of 127/8 is local on Linux). */
export function homeAddress(n: number): string {
  return `127.20.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

interface Home {
  id: string;
  secret: string;
  address: string;
  client?: TunnelClient;
  connectedAt: number;
}

const homes: Home[] = [];
/** Why attempts failed (state code and the start of the reason), for the bench's progress lines. */
const failures = new Map<string, number>();
const verifiers = await Promise.all(
  Array.from({ length: cfg.count }, async (_, i) => {
    const n = cfg.first + i;
    const id = `bench-home-${n}`;
    const secret = tunnel.generateSecret();
    homes.push({ id, secret, address: homeAddress(n), connectedAt: 0 });
    return { id, name: `Home ${n}`, secretHash: await tunnel.makeVerifier(secret) };
  }),
);
process.send!({ type: 'verifiers', gateways: verifiers });

const announce = (home: string) => () => ({
  cameras: Array.from({ length: CAMERAS }, (_, c) => ({ id: `cam${c + 1}`, name: `${home} camera ${c + 1}` })),
});

async function start(tunnelUrl: string, fingerprint256: string): Promise<void> {
  for (let i = 0; i < homes.length; i += BATCH) {
    await Promise.all(
      homes.slice(i, i + BATCH).map(
        (h) =>
          new Promise<void>((resolve) => {
            const client = new tunnel.TunnelClient({
              url: tunnelUrl,
              gatewayId: h.id,
              secret: h.secret,
              localAddress: h.address,
              tls: { fingerprint256 },
              announce: announce(h.id),
            });
            h.client = client;
            client.on('state', (s, info) => {
              if (s === 'reconnecting') {
                const why = `${info.code ?? '?'}: ${(info.reason ?? '').slice(0, 60)}`;
                failures.set(why, (failures.get(why) ?? 0) + 1);
              }
              if (s === 'connected') {
                h.connectedAt = Date.now();
                resolve();
              } else if (s === 'refused') resolve();
            });
            client.start();
          }),
      ),
    );
  }
}

process.on('message', (m: { type?: string; tunnelUrl?: string; fingerprint256?: string }) => {
  if (m.type === 'start') void start(m.tunnelUrl!, m.fingerprint256!);
  else if (m.type === 'status') {
    const states: Record<string, number> = {};
    let scryptRuns = 0;
    for (const h of homes) {
      const s = h.client?.state ?? 'idle';
      states[s] = (states[s] ?? 0) + 1;
      scryptRuns += h.client?.stats().scryptRuns ?? 0;
    }
    process.send!({
      type: 'status',
      connected: states.connected ?? 0,
      connectedAt: homes.map((h) => h.connectedAt),
      scryptRuns,
      states,
      failures: Object.fromEntries(failures),
    });
    failures.clear();
  }
});
process.on('disconnect', () => process.exit(0));
