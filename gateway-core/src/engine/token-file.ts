import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CamgateError } from '../util/index.js';
import { ENGINE_TOKEN_PATTERN, generateEngineToken } from './access.js';

/**
 * The engine's token on disk, so that `camgate engine` and `camgate gateway`
 * run as the same user share it without anyone copying it by hand. The file
 * holds one line, the token; it is created 0600 in a 0700 directory, and a
 * file others can read is refused, as ssh refuses a readable private key.
 */

/** `$XDG_CONFIG_HOME/camgate/engine-token`, `~/.config/camgate/engine-token` without XDG_CONFIG_HOME. */
export function defaultEngineTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'camgate', 'engine-token');
}

/** Largest token file read: a token is 43 characters; anything big is not ours. */
const MAX_TOKEN_FILE_BYTES = 1024;

/** Reads the token at `path`; `undefined` when there is no such file. Throws CAMGATE_ENGINE_TOKEN when it is unsafe or malformed. */
export async function readEngineToken(path: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CamgateError(
      'CAMGATE_ENGINE_TOKEN',
      `cannot read the engine token file ${path}: ${(err as Error).message}`,
    );
  }
  if (!info.isFile() || info.size > MAX_TOKEN_FILE_BYTES) {
    throw new CamgateError('CAMGATE_ENGINE_TOKEN', `${path} is not an engine token file`);
  }
  if ((info.mode & 0o077) !== 0) {
    throw new CamgateError(
      'CAMGATE_ENGINE_TOKEN',
      `${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CamgateError(
      'CAMGATE_ENGINE_TOKEN',
      `cannot read the engine token file ${path}: ${(err as Error).message}`,
    );
  }
  const token = text.trim();
  // The content is never echoed: it is the secret.
  if (!ENGINE_TOKEN_PATTERN.test(token)) {
    throw new CamgateError('CAMGATE_ENGINE_TOKEN', `${path} does not hold an engine token (16-256 of A-Z a-z 0-9 _ -)`);
  }
  return token;
}

/** The token at `path`, generated and written (0600, exclusively) on first use. */
export async function loadOrCreateEngineToken(path: string): Promise<{ token: string; created: boolean }> {
  const existing = await readEngineToken(path);
  if (existing) return { token: existing, created: false };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const token = generateEngineToken();
  let fh;
  try {
    // 'wx': fail if another process created it meanwhile (then read theirs); mode applies at creation.
    fh = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = await readEngineToken(path);
      if (theirs) return { token: theirs, created: false };
    }
    throw new CamgateError(
      'CAMGATE_ENGINE_TOKEN',
      `cannot create the engine token file ${path}: ${(err as Error).message}`,
    );
  }
  try {
    await fh.writeFile(`${token}\n`, 'utf8');
  } finally {
    await fh.close();
  }
  return { token, created: true };
}
