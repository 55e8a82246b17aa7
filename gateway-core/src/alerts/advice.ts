import type { FlagKind } from './flag.js';

/** What the advice text may mention; every field is optional. */
export interface AdviceContext {
  /** The camera's display name (never its address or credentials). */
  cameraName?: string;
  /** The port the evidence is about. */
  port?: number;
  /** The protocol seen on that port (`RTSP`, `HTTP`, `telnet`…). */
  protocol?: string;
  /** A LAN device that is not a camera of this gateway, by its address (compromise flags). */
  deviceAddress?: string;
}

type AdviceWriter = (c: { what: string; port: string; protocol: string; device: string }) => string;

/**
 * Plain-words advice per flag kind, written for the person who owns the
 * camera, not for a network engineer. One writer per kind (a table, not an
 * if-chain) so a new kind cannot be added without its advice.
 */
const WRITERS: Record<FlagKind, AdviceWriter> = {
  exposed: ({ what, port, protocol }) =>
    `${port} on your home's public address answers ${protocol} from the internet, so anyone can try to log in to ${what}. ` +
    'Remove the port forward on your router (or disable UPnP on the router), then wait for the next check to confirm it is closed. ' +
    'Watch your camera through camgate instead: it needs no open port.',
  'telnet-open': ({ what }) =>
    `${what} accepts telnet connections on your home network. Telnet sends passwords in clear text and is how botnets such as Mirai take over cameras. ` +
    "Turn telnet off in the camera's settings, update its firmware, and change its password if it is still the factory one.",
  'upnp-mapping': ({ what, port }) =>
    `Your router has an automatic (UPnP) port mapping that sends ${port} from the internet to ${what}. ` +
    "Turn off UPnP on the router (or the camera's UPnP / P2P / cloud option) and remove the mapping in the router's port-forwarding page.",
  'default-credentials': ({ what }) =>
    `${what} still accepts its factory-default user name and password, which are published on the internet. ` +
    'Set a new, long password on the camera now, and update the camera entry in camgate to match.',
  'direct-connection': ({ what, port }) =>
    `${what} was reached directly from outside your home on ${port}, without going through camgate. ` +
    'Check your router for port forwards, DMZ settings or UPnP mappings that point at the camera, and remove them.',
  'secret-in-use': () =>
    "Another device connected to your camgate hub with this gateway's secret and took over its connection. " +
    'If you did not just start a second copy of this gateway, the secret has leaked: make a new one with ' +
    '`camgate hub add-gateway` (and remove the old entry from hub.yaml), put it in gateway.yaml, and check who could read that file. ' +
    'The gateway keeps taking its connection back meanwhile.',
  compromise: ({ device }) =>
    `${device} is behaving like a botnet (Mirai-style) scanner: it is trying to connect to telnet and other ports that only ` +
    'malware tries, which means it has most likely been taken over already. ' +
    '1. Isolate it now: unplug it or block it in your router, so it cannot infect other devices or attack others. ' +
    '2. Factory-reset it (this malware usually lives in memory and comes back through the same weakness). ' +
    '3. Update its firmware before you connect it again. ' +
    '4. Give it a new, long password (never the factory one) and turn telnet off if it has a setting for it. ' +
    '5. Check your router for port forwards, DMZ or UPnP mappings to it and remove them: that is usually how it was reached.',
};

/** The advice text for a flag of `kind`. */
export function adviceFor(kind: FlagKind, ctx: AdviceContext = {}): string {
  const what = ctx.cameraName ? `the camera "${ctx.cameraName}"` : 'a camera';
  const port = ctx.port !== undefined ? `Port ${ctx.port}` : 'A port';
  const protocol = ctx.protocol ?? 'a camera service';
  const device = ctx.cameraName
    ? `The camera "${ctx.cameraName}"`
    : ctx.deviceAddress
      ? `The device at ${ctx.deviceAddress} on your home network`
      : 'A device on your home network';
  const text = WRITERS[kind]({ what, port, protocol, device });
  // The writers start some sentences with the port; keep them grammatical mid-sentence.
  return text.replace(/(sends|on) Port /g, '$1 port ').replace(/(sends|on) A port/g, '$1 a port');
}
