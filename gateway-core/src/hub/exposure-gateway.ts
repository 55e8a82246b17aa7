/**
 * The hub's side of a gateway's exposure exchange: what its announce may add
 * for the outside monitor (per-camera service ports and global IPv6
 * addresses) and the attribution round trip over the tunnel's control
 * messages (docs/exposure.md). Everything a gateway sends is validated and
 * count-limited here: a gateway is trusted with its own home only.
 */
import { randomBytes } from 'node:crypto';
import {
  ATTRIBUTION_LIMITS,
  ATTRIBUTION_REPLY,
  ATTRIBUTION_REQUEST,
  findingOf,
  IPV6_LIMITS,
  isGlobalIpv6,
  parseAttributionReply,
  type AttributionRequest,
  type MonitoredCamera,
  type PortAttribution,
  type ProbeEvidence,
} from '../exposure/index.js';
import { CamgateError } from '../util/index.js';
import { announcedCameras } from './api.js';

/** Most service ports one camera may add to its gateway's scan (the config schema allows 64). */
const MAX_PORTS_PER_CAMERA = 64;

/**
 * The monitor's view of an announce: each camera's id and name, its service
 * ports (integers 1–65535, at most 64) and its global IPv6 addresses (only
 * global unicast, at most IPV6_LIMITS.perCamera per camera and
 * IPV6_LIMITS.perGateway in all; anything else is dropped, never scanned).
 * `allowIpv6: false` ignores the addresses.
 */
export function monitoredCameras(announce: unknown, opts: { allowIpv6?: boolean } = {}): MonitoredCamera[] {
  const raw = (announce as { cameras?: unknown } | undefined)?.cameras;
  const list = Array.isArray(raw) ? (raw as Record<string, unknown>[]) : [];
  let v6Total = 0;
  return announcedCameras(announce).map((c) => {
    const entry = list.find((e) => e?.id === c.id) ?? {};
    const out: MonitoredCamera = { id: c.id, name: c.name };
    const ports = Array.isArray(entry.ports)
      ? (entry.ports as unknown[])
          .filter((p): p is number => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535)
          .slice(0, MAX_PORTS_PER_CAMERA)
      : [];
    if (ports.length > 0) out.ports = [...new Set(ports)];
    if (opts.allowIpv6 !== false && Array.isArray(entry.ipv6)) {
      const addrs = [...new Set((entry.ipv6 as unknown[]).filter(isGlobalIpv6).map((a) => a.toLowerCase()))].slice(
        0,
        Math.min(IPV6_LIMITS.perCamera, IPV6_LIMITS.perGateway - v6Total),
      );
      v6Total += addrs.length;
      if (addrs.length > 0) out.addresses = addrs;
    }
    return out;
  });
}

/** The attribution request for a scan's open ports (at most ATTRIBUTION_LIMITS.findings). */
export function attributionRequest(open: readonly ProbeEvidence[]): AttributionRequest {
  return {
    type: ATTRIBUTION_REQUEST,
    id: randomBytes(8).toString('hex'),
    findings: open.slice(0, ATTRIBUTION_LIMITS.findings).map(findingOf),
  };
}

interface Pending {
  ports: Set<number>;
  cameras: Set<string>;
  resolve: (m: Map<number, PortAttribution>) => void;
  timer: NodeJS.Timeout;
}

/**
 * Outstanding attribution requests of one gateway. A reply is accepted only
 * for a request id we sent to that gateway, and only for the ports we asked
 * about and cameras it announced; a late, foreign or malformed reply changes
 * nothing. No answer in time means no attribution (home-wide flags).
 */
export class AttributionExchange {
  readonly #pending = new Map<string, Pending>();

  /** Sends the request with `send` and resolves the matches, or an empty map after `timeoutMs` or on `signal`. */
  ask(
    open: readonly ProbeEvidence[],
    cameras: readonly MonitoredCamera[],
    send: (msg: AttributionRequest) => void,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Map<number, PortAttribution>> {
    const req = attributionRequest(open);
    return new Promise((resolve) => {
      const done = (m: Map<number, PortAttribution>): void => {
        const p = this.#pending.get(req.id);
        if (!p) return;
        clearTimeout(p.timer);
        this.#pending.delete(req.id);
        signal?.removeEventListener('abort', onAbort);
        resolve(m);
      };
      const onAbort = (): void => done(new Map());
      this.#pending.set(req.id, {
        ports: new Set(req.findings.map((f) => f.port)),
        cameras: new Set(cameras.map((c) => c.id)),
        resolve: done,
        timer: setTimeout(() => done(new Map()), timeoutMs),
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        send(req);
      } catch {
        done(new Map()); // tunnel gone or its buffer full: no attribution this scan
      }
    });
  }

  /**
   * Handles one control message of the gateway. Returns false for other
   * message types; throws CAMGATE_EXPOSURE_ATTRIBUTION for a malformed or
   * unexpected reply (the caller logs it).
   */
  handle(msg: unknown): boolean {
    if ((msg as { type?: unknown } | null)?.type !== ATTRIBUTION_REPLY) return false;
    let reply;
    try {
      reply = parseAttributionReply(msg);
    } catch (err) {
      throw new CamgateError('CAMGATE_EXPOSURE_ATTRIBUTION', (err as Error).message);
    }
    const p = this.#pending.get(reply.id);
    if (!p) throw new CamgateError('CAMGATE_EXPOSURE_ATTRIBUTION', 'attribution reply to no pending request');
    const out = new Map<number, PortAttribution>();
    for (const m of reply.matches) {
      if (p.ports.has(m.port) && p.cameras.has(m.cameraId)) out.set(m.port, { cameraId: m.cameraId, method: m.method });
    }
    p.resolve(out);
    return true;
  }

  /** Resolves every outstanding request with no matches (gateway gone, service closing). */
  cancelAll(): void {
    for (const p of [...this.#pending.values()]) p.resolve(new Map());
  }
}
