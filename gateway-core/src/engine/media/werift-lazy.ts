/**
 * werift, loaded the first time a viewer negotiates rather than when the
 * engine starts. Its bundle (700 KB of code, plus its CommonJS dependencies
 * for X.509, curves and ASN.1) is most of what an idle engine held: about
 * 25 MB of its 100 MB RSS (issue 17: idle RSS ≤ 60 MB on a small box). An
 * engine that only keeps cameras warm, or serves RtpEndpoints, never loads it.
 *
 * Code that runs before a peer exists imports werift's *types* only; values
 * come from `loadWerift()` (awaited where negotiation starts) or, on a path
 * that can only run once a peer negotiated, from `loadedWerift()`.
 */
import type * as Werift from 'werift';

export type WeriftModule = typeof Werift;

let loaded: WeriftModule | undefined;
let loading: Promise<WeriftModule> | undefined;

/** werift's module, imported once (every caller shares the same import). */
export function loadWerift(): Promise<WeriftModule> {
  if (loaded) return Promise.resolve(loaded);
  loading ??= import('werift').then((m) => (loaded = m));
  return loading;
}

/** werift's module when some caller has loaded it already, else undefined. */
export function loadedWerift(): WeriftModule | undefined {
  return loaded;
}
