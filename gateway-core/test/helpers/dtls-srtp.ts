/** The two ends of a DTLS-SRTP session, keyed as werift keys them after a handshake, for tests of the SRTP path. */
import { randomBytes } from 'node:crypto';
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, SrtpSession } from 'werift';

type Profile = typeof ProtectionProfileAes128CmHmacSha1_80 | typeof ProtectionProfileAeadAes128Gcm;

/** Both ends of one DTLS-SRTP session, as werift derives them after the handshake. */
export function keyPair(profile: Profile): { sender: SrtpSession; viewer: SrtpSession } {
  const keyLen = 16;
  const saltLen = profile === ProtectionProfileAes128CmHmacSha1_80 ? 14 : 12;
  const [ka, sa, kb, sb] = [randomBytes(keyLen), randomBytes(saltLen), randomBytes(keyLen), randomBytes(saltLen)];
  const sender = new SrtpSession({
    profile,
    keys: { localMasterKey: ka, localMasterSalt: sa, remoteMasterKey: kb, remoteMasterSalt: sb },
  });
  const viewer = new SrtpSession({
    profile,
    keys: { localMasterKey: kb, localMasterSalt: sb, remoteMasterKey: ka, remoteMasterSalt: sa },
  });
  return { sender, viewer };
}
