/**
 * A client's answer to a server's `WWW-Authenticate` header, for tests that
 * talk to the simulated camera by hand. It is camgate's one Digest
 * implementation (src/rtsp/digest-auth.ts) behind a string-in, string-out
 * face; it throws where a real client would have nothing to send.
 */
import { digestAuthorization, parseWwwAuthenticate } from '@camgate/core/rtsp-wire';

export interface DigestAnswerInput {
  username: string;
  password: string;
  method: string;
  /** The request URI exactly as sent on the request line. */
  uri: string;
  /** The `WWW-Authenticate` header value (its first challenge is answered). */
  challenge: string;
  /** Client nonce; random when omitted. */
  cnonce?: string;
  /** Nonce count (RFC 2617 §3.2.2), 1 when omitted. */
  nc?: number;
}

/** The `Authorization` header value answering `challenge` (RFC 2617 §3.2.2, RFC 7616 §3.4). */
export function answerDigest(input: DigestAnswerInput): string {
  const [challenge] = parseWwwAuthenticate([input.challenge]);
  if (!challenge || challenge.scheme.toLowerCase() !== 'digest') {
    throw new TypeError('challenge is not a Digest challenge');
  }
  const header = digestAuthorization({ ...input, challenge });
  if (header === undefined) throw new TypeError('the Digest challenge asks for an algorithm or qop we do not answer');
  return header;
}
