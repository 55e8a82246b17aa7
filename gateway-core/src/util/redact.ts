/**
 * Secrets are redacted at the logger, not at each call site: every structured
 * field passes through `redact()` before it is written anywhere.
 */

/** Field names whose values are always replaced, whatever their content. */
const SECRET_KEYS =
  /^(secret|password|passwd|pass|token|credential|credentials|authorization|cookie|turnSecret|staticAuthSecret|key|privateKey|auth)$/i;

/** `scheme://user:password@host` — the userinfo part of any URL in a string. */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(?::[^/@\s]*)?@/gi;

/** `?token=…` / `&access_token=…` in a URL: the engine's token travels there (engine/access.ts). */
const URL_TOKEN_PARAM = /([?&](?:token|access_token)=)[^&#\s"']+/gi;

export const REDACTED = '[redacted]';

/** Removes credentials from URLs inside a string (`rtsp://u:p@h/` → `rtsp://[redacted]@h/`). */
export function redactString(s: string, extraSecrets: readonly string[] = []): string {
  let out = s.replace(URL_USERINFO, `$1${REDACTED}@`).replace(URL_TOKEN_PARAM, `$1${REDACTED}`);
  for (const secret of extraSecrets) {
    // Short values would redact ordinary words; secrets we mint are long.
    if (secret.length >= 6) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * Returns a deep copy of `value` with secret-named fields replaced and URL
 * credentials removed from strings. `extraSecrets` are literal values (camera
 * passwords, gateway secrets) that must never appear, under any key.
 */
export function redact(value: unknown, extraSecrets: readonly string[] = [], depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return redactString(value, extraSecrets);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      name: value.name,
      message: redactString(value.message, extraSecrets),
    };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  }
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map((v) => redact(v, extraSecrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEYS.test(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, extraSecrets, depth + 1);
  }
  return out;
}
