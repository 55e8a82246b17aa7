import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';

/**
 * What the direct path reads of werift's ICE `Connection` (ice/src/ice.ts).
 * `canSendApplicationData` is private in werift's types; everything else is
 * public. All of it is checked before use, and anything shaped otherwise
 * takes werift's own `send`.
 */
interface IceConnection {
  send(data: Buffer): Promise<void>;
  nominated?: CandidatePair;
  canSendApplicationData?: () => boolean;
}

interface CandidatePair {
  protocol: { type: string; transport?: { closed?: boolean; socket?: unknown } };
  readonly remoteAddr: readonly [string, number];
  packetsSent: number;
  bytesSent: number;
}

/** How a datagram left: on the pair's UDP socket, through werift's `Connection.send`, or not at all. */
export type DatagramPath = 'socket' | 'werift' | 'dropped';

/** The pair last checked, so the checks that do not change per packet run once per pair. */
const direct = new WeakMap<CandidatePair, { socket: Socket; port: number; host: string } | null>();

/**
 * Sends one datagram (an SRTP packet) on werift's selected ICE pair.
 * werift's `Connection.send` goes through three async functions per datagram
 * (Connection → StunProtocol → UdpTransport): about 1.1 KB of promises and
 * async frames each, 40 % of what the engine allocated with one viewer
 * (V8's sampling heap profiler), at 650 packets a second per viewer. For a
 * pair over plain UDP (host or server-reflexive candidates, werift's
 * `StunProtocol`) the datagram goes on the pair's socket here, after the
 * checks werift makes: a nominated pair, consent still fresh (RFC 7675: no
 * media once the viewer stops answering), the socket open, an IP address to
 * send to. TURN pairs (the relay wraps each datagram) and anything else use
 * werift's `send`. `onError` gets what werift's path rejects with.
 */
export function sendDatagram(connection: IceConnection, data: Buffer, onError: (err: unknown) => void): DatagramPath {
  const pair = connection.nominated;
  const to = directPath(connection);
  if (!pair || !to) {
    connection.send(data).catch(onError);
    return 'werift';
  }
  if (!connection.canSendApplicationData!() || pair.protocol.transport?.closed) return 'dropped';
  try {
    to.socket.send(data, to.port, to.host);
  } catch (err) {
    onError(err); // a socket closed under us: werift's path would reject the same way
    return 'dropped';
  }
  pair.packetsSent++;
  pair.bytesSent += data.length;
  return 'socket';
}

/**
 * Datagrams still queued in libuv on the socket `sendDatagram` would use now
 * (`getSendQueueCount`), or undefined when it would not use one of its own
 * (werift's path, which may hold a datagram across async steps).
 */
export function queuedSends(connection: IceConnection): number | undefined {
  return directPath(connection)?.socket.getSendQueueCount();
}

/** The socket and address `sendDatagram` sends on itself, or null when datagrams take werift's path. */
function directPath(connection: IceConnection): { socket: Socket; port: number; host: string } | null {
  const pair = connection.nominated;
  if (!pair || typeof connection.canSendApplicationData !== 'function') return null;
  return directTarget(pair);
}

function directTarget(pair: CandidatePair): { socket: Socket; port: number; host: string } | null {
  let target = direct.get(pair);
  if (target !== undefined) return target;
  const socket = pair.protocol.type === 'stun' ? pair.protocol.transport?.socket : undefined;
  const [host, port] = pair.remoteAddr;
  target =
    socket && typeof (socket as Socket).send === 'function' && isIP(host) !== 0 && Number.isInteger(port)
      ? { socket: socket as Socket, port, host }
      : null;
  direct.set(pair, target);
  return target;
}
