import { defaultEngineTokenFile, ENGINE_TOKEN_PARAM, engineUrlWithToken, readEngineToken } from '../engine/index.js';
import { CamgateError, type Logger } from '../util/index.js';

/**
 * The media backend URL the gateway dials, with the built-in engine's token
 * added: from `mediaBackend.tokenFile`, or from the engine's default token
 * file when that exists (same user, same machine: nobody copies the token by
 * hand). Kurento Media Server has no token; without a file the URL is used as
 * written. Returns the token so the caller can register it for redaction.
 */
export async function resolveMediaBackendUrl(
  backend: { url: string; tokenFile?: string | undefined },
  logger: Logger,
): Promise<{ url: string; token: string | undefined }> {
  if (new URL(backend.url).searchParams.has(ENGINE_TOKEN_PARAM)) return { url: backend.url, token: undefined };
  const path = backend.tokenFile ?? defaultEngineTokenFile();
  const token = await readEngineToken(path);
  if (token === undefined) {
    if (backend.tokenFile !== undefined) {
      throw new CamgateError(
        'CAMGATE_ENGINE_TOKEN',
        `mediaBackend.tokenFile: ${path} does not exist; start \`camgate engine --token-file ${path}\` first`,
      );
    }
    logger.info('no engine token file; dialling the media backend without a token (Kurento Media Server)', { path });
    return { url: backend.url, token: undefined };
  }
  logger.debug('media backend token read', { path });
  return { url: engineUrlWithToken(backend.url, token), token };
}
