import type { RTCIceCandidate, RTCPeerConnection } from 'werift';
import { CamgateError, type Logger } from '../../util/index.js';
import { validateCandidate, type RemoteCandidate } from './ice-candidate.js';

/** A local ICE candidate as Kurento's `IceCandidateFound` event carries it. */
export interface IceCandidateInfo {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
}

// Kurento IceComponentState names for werift's RTCIceConnectionState.
const ICE_STATE: Record<string, string> = {
  new: 'DISCONNECTED',
  checking: 'CONNECTING',
  connected: 'CONNECTED',
  completed: 'READY',
  failed: 'FAILED',
  disconnected: 'DISCONNECTED',
  closed: 'DISCONNECTED',
};

/** The Kurento IceComponentState name of a werift RTCIceConnectionState. */
export function kurentoIceState(s: string): string {
  return ICE_STATE[s] ?? 'DISCONNECTED';
}

const MAX_REMOTE_CANDIDATES = 256; // a browser sends < 20; more is hostile

/** Where a peer's trickle goes: its events, and whether it still takes candidates. */
export interface IceTrickleHooks {
  candidate(c: IceCandidateInfo): void;
  gatheringDone(): void;
  /** False once the peer is closed: `gatheringDone` is no longer emitted. */
  open(): boolean;
}

/**
 * Trickle ICE with Kurento's WebRtcEndpoint semantics, for one WebRtcPeer:
 * local candidates are held until `gather()` and then passed on as werift
 * finds them, `gatheringDone` once werift finished gathering; remote ones are
 * validated, counted, held until the remote description is set, and `.local`
 * (mDNS) ones are dropped (see README.md in this folder).
 */
export class IceTrickle {
  readonly #hooks: IceTrickleHooks;
  readonly #log: Logger;
  readonly #interfaceAddress: string | undefined;
  #gatherRequested = false;
  #gatheringDone = false;
  #doneEmitted = false;
  #pendingLocal: IceCandidateInfo[] = [];
  #pendingRemote: RemoteCandidate[] = [];
  #remoteCount = 0;

  constructor(hooks: IceTrickleHooks, log: Logger, interfaceAddress: string | undefined) {
    this.#hooks = hooks;
    this.#log = log;
    this.#interfaceAddress = interfaceAddress;
  }

  /** A candidate werift found (its `onIceCandidate`). */
  local(c: RTCIceCandidate | undefined): void {
    if (!c || typeof c.candidate !== 'string' || c.candidate === '') return;
    // werift binds every host socket to interfaceAddress but, when that address is not
    // in its own interface list (loopback never is), still labels candidates with the
    // other interfaces' addresses. Those candidates would be false: advertise only ours.
    const ifAddr = this.#interfaceAddress;
    if (ifAddr && c.candidate.split(' ')[4] !== ifAddr) {
      this.#log.debug('skipped a local candidate outside interfaceAddress');
      return;
    }
    const info: IceCandidateInfo = {
      candidate: c.candidate,
      sdpMid: c.sdpMid ?? '0',
      sdpMLineIndex: c.sdpMLineIndex ?? 0,
    };
    if (this.#gatherRequested) this.#hooks.candidate(info);
    else this.#pendingLocal.push(info);
  }

  /** werift finished gathering (its setLocalDescription resolved). */
  localDone(): void {
    this.#gatheringDone = true;
    this.#maybeDone();
  }

  /** `gatherCandidates()`: passes on what was held, then every later candidate. */
  gather(): void {
    if (this.#gatherRequested) return;
    this.#gatherRequested = true;
    const pending = this.#pendingLocal;
    this.#pendingLocal = [];
    for (const c of pending) this.#hooks.candidate(c);
    this.#maybeDone();
  }

  /** `addIceCandidate()`: applied at once when `pc` has a remote description, else held for `flush()`. */
  async remote(c: RemoteCandidate, pc: RTCPeerConnection | undefined): Promise<void> {
    const cand = validateCandidate(c);
    if (cand.candidate === '') return; // end-of-candidates (RFC 8838 §8.2): nothing to do
    if (++this.#remoteCount > MAX_REMOTE_CANDIDATES) {
      throw new CamgateError('CAMGATE_ENGINE_ICE', `more than ${MAX_REMOTE_CANDIDATES} remote ICE candidates`);
    }
    // Chromium hides host addresses behind mDNS names (draft-ietf-mmusic-mdns-ice-candidates).
    // werift has no switch to turn its mDNS resolver off and would multicast a query to
    // 224.0.0.251 for each: we drop them. The browser's checks still reach our candidates and
    // werift learns its address as peer-reflexive (RFC 8445 §7.3.1.3).
    if (/\s[^\s]+\.local\s/i.test(cand.candidate)) {
      this.#log.debug('dropped mDNS ICE candidate', {
        candidate: cand.candidate.replace(/\s[^\s]+\.local\s/i, ' <mdns> '),
      });
      return;
    }
    if (!pc || !pc.remoteDescription) {
      this.#pendingRemote.push(cand);
      return;
    }
    await this.#apply(pc, cand);
  }

  /** Applies the remote candidates held until the remote description was set. */
  flush(pc: RTCPeerConnection): void {
    const pending = this.#pendingRemote;
    this.#pendingRemote = [];
    for (const c of pending) void this.#apply(pc, c).catch(() => undefined);
  }

  /** Forgets what is held (the peer closes). */
  clear(): void {
    this.#pendingLocal = [];
    this.#pendingRemote = [];
  }

  #maybeDone(): void {
    if (this.#gatherRequested && this.#gatheringDone && !this.#doneEmitted && this.#hooks.open()) {
      this.#doneEmitted = true;
      this.#hooks.gatheringDone();
    }
  }

  async #apply(pc: RTCPeerConnection, c: RemoteCandidate): Promise<void> {
    try {
      await pc.addIceCandidate(c);
    } catch (err) {
      const e = new CamgateError(
        'CAMGATE_ENGINE_ICE',
        `invalid ICE candidate: ${(err as Error)?.message ?? String(err)}`,
      );
      this.#log.debug('remote candidate rejected', { err: e });
      throw e;
    }
  }
}
