/** Two werift ICE agents connected to each other over 127.0.0.1, for tests of what leaves on a selected pair. */
import { Connection } from 'werift';

const LOOPBACK = {
  useIpv4: true,
  useIpv6: false,
  useTcp: false,
  interfaceAddresses: { udp4: '127.0.0.1' },
  additionalHostAddresses: ['127.0.0.1'],
};

export async function connectedPair(): Promise<{ a: Connection; b: Connection }> {
  const a = new Connection(true, LOOPBACK);
  const b = new Connection(false, LOOPBACK);
  await Promise.all([a.gatherCandidates(), b.gatherCandidates()]);
  a.setRemoteParams({ iceLite: false, usernameFragment: b.localUsername, password: b.localPassword });
  b.setRemoteParams({ iceLite: false, usernameFragment: a.localUsername, password: a.localPassword });
  for (const c of b.localCandidates) await a.addRemoteCandidate(c);
  for (const c of a.localCandidates) await b.addRemoteCandidate(c);
  await a.addRemoteCandidate(undefined);
  await b.addRemoteCandidate(undefined);
  await Promise.all([a.connect(), b.connect()]);
  return { a, b };
}
