/**
 * The real Kurento Media Server 7.3 as the third column of `bench:media`: the
 * prebuilt server in `../shared/kms` (see its README.md), started on a free
 * loopback port the way the end-to-end tests start it (test/e2e/helpers/kms.ts:
 * fresh work folder, ICE on `lo` only), driven with the official kurento-client
 * exactly like the engine. Absent: the bench prints why and where KMS comes from,
 * and its figures are null.
 */
import { connectKurento } from '@camgate/test-helpers';
import { KMS_DIR, kmsMissing, startKms } from '../e2e/helpers/kms.js';

// kurento-client ships no types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Kc = any;

export const KMS_INSTALL_HINT =
  `the prebuilt Kurento Media Server 7.3 is expected at ${KMS_DIR} (../shared/kms from the project root, ` +
  'as CI provides it: run-kms.sh and kms-7.3.0-debian12-amd64.tar.xz, built from Kurento 7.3.0 for Debian 12, ' +
  'see its README.md); install its runtime packages once as root with ../shared/kms/install-kms-deps.sh';

export interface KmsPeer {
  pid: number;
  url: string;
  client: Kc;
  rssMb(): number;
  logTail(): string;
  close(): Promise<void>;
}

/** Starts KMS and connects a kurento-client to it; throws with the install hint when KMS is not there. */
export async function startKmsPeer(redact: readonly string[]): Promise<KmsPeer> {
  const why = kmsMissing();
  if (why) throw new Error(`KMS not found — ${KMS_INSTALL_HINT}`);
  const kms = await startKms({ redact });
  let client: Kc;
  try {
    client = await connectKurento(kms.url);
  } catch (err) {
    await kms.close();
    throw err;
  }
  return {
    pid: kms.pid,
    url: kms.url,
    client,
    rssMb: () => kms.rssMb(),
    logTail: () => kms.logTail(),
    close: async () => {
      try {
        client.close();
      } finally {
        await kms.close();
      }
    },
  };
}
