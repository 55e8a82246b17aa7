/**
 * The viewer's pages and assets: plain files in `static/`, read once at start
 * and served from memory under a strict Content-Security-Policy (no inline
 * script or style, nothing from another origin).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** CSP Level 3: only this origin; `connect-src 'self'` covers the same-origin WebSocket. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every viewer response carries. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface StaticFile {
  type: string;
  body: Buffer;
  etag: string;
}

/**
 * Where the files are: beside this module when a build copied them, else in
 * the source tree (tsc copies no assets: dist/hub/viewer → src/hub/viewer/static).
 */
export function defaultStaticDir(): string {
  const here = fileURLToPath(new URL('./static/', import.meta.url));
  if (existsSync(join(here, 'index.html'))) return here;
  return fileURLToPath(new URL('../../../src/hub/viewer/static/', import.meta.url));
}

/** Reads every servable file of `dir` (flat; names of letters, digits, `-` and `.`). */
export async function loadStaticFiles(dir: string): Promise<Map<string, StaticFile>> {
  const out = new Map<string, StaticFile>();
  for (const name of await readdir(dir)) {
    const type = TYPES[extname(name)];
    if (!type || !/^[a-z0-9-]+\.[a-z]+$/.test(name)) continue;
    const body = await readFile(join(dir, name));
    out.set(name, { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  for (const required of ['index.html', 'login.html']) {
    if (!out.has(required)) throw new Error(`viewer static files: ${required} missing in ${dir}`);
  }
  return out;
}

/** Sends a static file; HTML is never cached (it decides which session is shown). */
export function sendStatic(res: ServerResponse, file: StaticFile, ifNoneMatch: string | undefined, head = false): void {
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    'Content-Type': file.type,
    ETag: file.etag,
    'Cache-Control': file.type.startsWith('text/html') ? 'no-store' : 'no-cache',
  };
  if (ifNoneMatch === file.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  headers['Content-Length'] = String(file.body.length);
  res.writeHead(200, headers).end(head ? undefined : file.body);
}
