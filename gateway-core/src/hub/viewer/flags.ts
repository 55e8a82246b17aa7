/**
 * The flags a signed-in person sees on the viewer page: a badge on each
 * camera for flags naming that camera, a banner for flags of the whole home.
 * Flags come from the hub's outside monitor and from the gateways' own LAN
 * audits (hub/gateway-flags.ts); both are network input at some point, so
 * only plain fields leave here, and the advice is written by the hub
 * (alerts/advice.ts) rather than passed through from a gateway.
 */
import { adviceFor, type Flag, type FlagKind } from '../../alerts/index.js';
import { isGranted } from '../accounts/index.js';
import type { GatewayStatus } from '../api.js';

/** One raised flag as the page shows it. */
export interface ViewerFlag {
  /** The flag's stable id. */
  id: string;
  gateway: string;
  gatewayName: string;
  /** The camera the flag names; absent for a flag of the whole home. */
  camera?: string;
  cameraName?: string;
  kind: FlagKind;
  /** Who found it: the hub from the internet, or the gateway on the home network. */
  source: 'hub' | 'gateway';
  /** A few words: what is wrong. */
  title: string;
  /** What was seen, one line per piece of evidence (port, what answered). */
  evidence: string[];
  /** What to do, in plain words. */
  advice: string;
  raisedAt: string;
}

/** Titles per kind; a table so that a new kind cannot be added without one. */
const TITLES: Record<FlagKind, string> = {
  exposed: 'Reachable from the internet',
  'telnet-open': 'Telnet is open',
  'upnp-mapping': 'Router port mapping (UPnP)',
  'default-credentials': 'Factory-default password',
  'direct-connection': 'Reached directly from outside',
  'secret-in-use': "Gateway's secret used elsewhere",
};

/** Evidence lines and flags per page, so one gateway's flood cannot swamp a page. */
export const VIEWER_FLAG_LIMITS = {
  evidenceLines: 4,
  lineChars: 300, // characters per evidence line
  flagsPerPage: 200,
} as const;

const WHO: Record<Flag['source'], string> = {
  hub: 'from the internet',
  gateway: 'on your home network',
};

/** Kinds that mean "reachable from the internet now": they lead, in the badge and the banner. */
const EXPOSING: ReadonlySet<FlagKind> = new Set<FlagKind>(['exposed', 'direct-connection']);

/** Banners were escaped for safety (`\r\n` as text, alerts/flag.ts sanitizeText); a person reads a separator. */
function readable(s: string): string {
  return s.replace(/(?:\\r)?\\n/g, ' · ').replace(/\\[rt]/g, ' ');
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** `Port 554 (RTSP), seen from the internet, answered: RTSP/1.0 200 OK — open stream`. */
function evidenceLine(e: Flag['evidence'][number], source: Flag['source']): string {
  const parts: string[] = [];
  parts.push(e.port !== undefined ? `Port ${e.port}` : 'Seen');
  if (e.protocol) parts[0] += ` (${e.protocol.toUpperCase()})`;
  parts[0] += `, ${WHO[source]}`;
  if (e.banner) parts.push(`answered: ${readable(e.banner)}`);
  if (e.detail) parts.push(readable(e.detail));
  return cut(parts.join(' — '), VIEWER_FLAG_LIMITS.lineChars);
}

function toViewerFlag(f: Flag, g: GatewayStatus): ViewerFlag {
  const cameraName =
    f.cameraId === undefined ? undefined : (g.cameras.find((c) => c.id === f.cameraId)?.name ?? f.cameraId);
  const first = f.evidence.find((e) => e.port !== undefined) ?? f.evidence[0];
  const text = adviceFor(f.kind, {
    ...(cameraName ? { cameraName } : {}),
    ...(first?.port !== undefined ? { port: first.port } : {}),
    ...(first?.protocol ? { protocol: first.protocol.toUpperCase() } : {}),
  });
  // Some writers start with the camera ("the camera "Porch" accepts…"): it starts a paragraph here.
  const advice = text.charAt(0).toUpperCase() + text.slice(1);
  const out: ViewerFlag = {
    id: f.id,
    gateway: g.id,
    gatewayName: g.name ?? g.id,
    kind: f.kind,
    source: f.source,
    title: TITLES[f.kind],
    evidence: f.evidence.slice(-VIEWER_FLAG_LIMITS.evidenceLines).map((e) => evidenceLine(e, f.source)),
    advice,
    raisedAt: f.raisedAt,
  };
  if (f.cameraId !== undefined) {
    out.camera = f.cameraId;
    out.cameraName = cameraName!;
  }
  return out;
}

/**
 * The raised flags `grants` let this person see: a camera's flags when the
 * camera is granted, a home-wide flag when any camera of that gateway is.
 * Exposing kinds first, then newest first; at most VIEWER_FLAG_LIMITS.flagsPerPage.
 */
export function viewerFlagsFor(
  grants: readonly string[],
  gateways: readonly GatewayStatus[],
  flagsFor: (gatewayId: string) => readonly Flag[],
): ViewerFlag[] {
  const out: ViewerFlag[] = [];
  for (const g of gateways) {
    const anyGrant = grants.some((x) => x.split('/')[0] === g.id);
    if (!anyGrant) continue;
    for (const f of flagsFor(g.id)) {
      if (f.state !== 'raised' || f.gatewayId !== g.id) continue;
      if (f.cameraId !== undefined && !isGranted(grants, g.id, f.cameraId)) continue;
      out.push(toViewerFlag(f, g));
    }
  }
  // Reachable from the internet first (the badge's summary names the first), then the newest.
  const rank = (f: ViewerFlag): number => (EXPOSING.has(f.kind) ? 0 : 1);
  out.sort((a, b) => rank(a) - rank(b) || b.raisedAt.localeCompare(a.raisedAt) || a.id.localeCompare(b.id));
  return out.slice(0, VIEWER_FLAG_LIMITS.flagsPerPage);
}
