/**
 * The viewer's accounts: a users file (JSON, or YAML when it ends in .yaml/.yml)
 * holding each user's scrypt password hash and camera grants. The CLI's
 * `camgate hub add-user` calls `addUser`; the hub reads the file with
 * `UserDirectory`, which notices when the file changes so a new user can sign
 * in without a restart.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { hashSecret, verifySecret } from '../../tunnel/index.js';
import { CamgateError } from '../../util/index.js';

/** A user name: letters, digits and `._@-`, 1..64 characters. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** A grant: `GATEWAY/CAMERA` or `GATEWAY/*` (ids as in the config schema). */
export const GRANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/(\*|[A-Za-z0-9][A-Za-z0-9_-]{0,62})$/;
/** Shortest password `addUser` accepts from a person (NIST SP 800-63B §5.1.1.2: at least 8). */
export const MIN_PASSWORD_CHARS = 8;
/** Longest password checked: scrypt of a megabyte would be a free CPU burner. */
export const MAX_PASSWORD_CHARS = 256;
/** Largest users file read (bytes). */
const MAX_USERS_FILE_BYTES = 4 * 1024 * 1024;

const userSchema = z
  .object({
    name: z
      .string()
      .regex(USER_NAME_PATTERN, 'must be 1-64 letters, digits or "._@-", starting with a letter or digit'),
    passwordHash: z.string().regex(/^scrypt\$/, 'must be a scrypt hash written by `camgate hub add-user`'),
    cameras: z.array(z.string().regex(GRANT_PATTERN, 'must be GATEWAY/CAMERA or GATEWAY/*')).max(1024).default([]),
    // Whether this person may talk through the cameras' speakers (ONVIF back channel, issue 15). Off unless
    // set: a users file written before the setting existed reads as "may not talk" (that is its migration).
    talk: z.boolean().default(false),
  })
  .strict();

const usersFileSchema = z
  .object({ users: z.array(userSchema).max(10_000).default([]) })
  .strict()
  .refine((f) => new Set(f.users.map((u) => u.name)).size === f.users.length, 'users: names must be unique');

/** A user as read from the users file; `talk` may be left out where a record is built in code (reads as off). */
export type UserRecord = Omit<z.output<typeof userSchema>, 'talk'> & { talk?: boolean };

function isYaml(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Parses and validates a users file's text; every error names its path (`users[2].cameras[0]: …`). */
export function parseUsersFile(text: string, file = 'users file'): UserRecord[] {
  let raw: unknown;
  try {
    raw = isYaml(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new CamgateError('CAMGATE_USERS_FILE', `${file}: not valid ${isYaml(file) ? 'YAML' : 'JSON'}`, {
      cause: err,
    });
  }
  const r = usersFileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new CamgateError('CAMGATE_USERS_FILE', `${file}: ${path.replace(/^\./, '') || '(root)'}: ${issue.message}`);
  }
  return r.data.users;
}

/** Reads a users file; a missing file is an empty list (no one can sign in yet). */
export async function loadUsers(file: string): Promise<UserRecord[]> {
  let text: string;
  try {
    const st = await stat(file);
    if (st.size > MAX_USERS_FILE_BYTES) {
      throw new CamgateError('CAMGATE_USERS_FILE', `${file}: larger than ${MAX_USERS_FILE_BYTES} bytes`);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseUsersFile(text, file);
}

/** Writes the users file atomically (temp file + rename), readable by its owner only. */
export async function saveUsers(file: string, users: readonly UserRecord[]): Promise<void> {
  const body = {
    users: users.map((u) => ({
      name: u.name,
      passwordHash: u.passwordHash,
      cameras: [...u.cameras],
      ...(u.talk ? { talk: true } : {}),
    })),
  };
  const text = isYaml(file) ? YAML.stringify(body) : `${JSON.stringify(body, null, 2)}\n`;
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

export interface AddUserOptions {
  name: string;
  /** The password; when omitted one is generated and returned. */
  password?: string;
  /** Grants: `GATEWAY/CAMERA` or `GATEWAY/*`. */
  cameras: string[];
  /** Replace a user of the same name instead of failing. */
  replace?: boolean;
  /** Whether the user may talk through the cameras it is granted (push-to-talk). Default false. */
  talk?: boolean;
}

export interface AddUserResult {
  name: string;
  /** The generated password, to show once; undefined when the caller gave one. */
  generatedPassword: string | undefined;
}

/** A generated password: 18 random bytes, base64url (24 characters, 144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Adds (or with `replace`, replaces) a user in `file`, creating the file when
 * missing. What `camgate hub add-user` calls. Throws TypeError/RangeError for
 * bad arguments and CAMGATE_USER_EXISTS when the name is taken.
 */
export async function addUser(file: string, opts: AddUserOptions): Promise<AddUserResult> {
  if (typeof file !== 'string' || file === '') throw new TypeError('addUser: file must be a non-empty path');
  if (typeof opts?.name !== 'string' || !USER_NAME_PATTERN.test(opts.name)) {
    throw new TypeError(`addUser: name ${JSON.stringify(opts?.name)} is not allowed (1-64 of A-Z a-z 0-9 . _ @ -)`);
  }
  if (!Array.isArray(opts.cameras) || !opts.cameras.every((c) => typeof c === 'string' && GRANT_PATTERN.test(c))) {
    throw new TypeError(`addUser: cameras must be a list of 'GATEWAY/CAMERA' or 'GATEWAY/*'`);
  }
  if (opts.talk !== undefined && typeof opts.talk !== 'boolean') {
    throw new TypeError(`addUser: talk must be a boolean, not ${typeof opts.talk}`);
  }
  let generatedPassword: string | undefined;
  let password = opts.password;
  if (password === undefined) password = generatedPassword = generatePassword();
  if (typeof password !== 'string') throw new TypeError('addUser: password must be a string');
  if (password.length < MIN_PASSWORD_CHARS || password.length > MAX_PASSWORD_CHARS) {
    throw new RangeError(
      `addUser: password of ${password.length} characters is not allowed (${MIN_PASSWORD_CHARS}-${MAX_PASSWORD_CHARS})`,
    );
  }
  const users = await loadUsers(file);
  const existing = users.findIndex((u) => u.name === opts.name);
  if (existing !== -1 && !opts.replace) {
    throw new CamgateError('CAMGATE_USER_EXISTS', `user ${opts.name} already exists (use replace to change it)`);
  }
  const record: UserRecord = {
    name: opts.name,
    passwordHash: await hashSecret(password),
    cameras: [...opts.cameras],
    talk: opts.talk === true,
  };
  if (existing === -1) users.push(record);
  else users[existing] = record;
  await saveUsers(file, users);
  return { name: opts.name, generatedPassword };
}

/**
 * Turns a user's talk permission on or off, keeping everything else (`camgate hub set-talk`). Throws
 * CAMGATE_USER_UNKNOWN when there is no such user.
 */
export async function setUserTalk(file: string, name: string, talk: boolean): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new TypeError('setUserTalk: file must be a non-empty path');
  if (typeof name !== 'string' || !USER_NAME_PATTERN.test(name)) {
    throw new TypeError(`setUserTalk: name ${JSON.stringify(name)} is not allowed (1-64 of A-Z a-z 0-9 . _ @ -)`);
  }
  if (typeof talk !== 'boolean') throw new TypeError(`setUserTalk: talk must be a boolean, not ${typeof talk}`);
  const users = await loadUsers(file);
  const user = users.find((u) => u.name === name);
  if (!user) throw new CamgateError('CAMGATE_USER_UNKNOWN', `user ${name} does not exist in ${file}`);
  user.talk = talk;
  await saveUsers(file, users);
}

/** Whether `user` may talk through camera `cameraId` of gateway `gatewayId`: the talk setting AND a grant. */
export function mayTalk(user: Pick<UserRecord, 'cameras' | 'talk'>, gatewayId: string, cameraId: string): boolean {
  return user.talk === true && isGranted(user.cameras, gatewayId, cameraId);
}

/** Whether `grants` let a user open camera `cameraId` of gateway `gatewayId`. */
export function isGranted(grants: readonly string[], gatewayId: string, cameraId: string): boolean {
  return grants.includes(`${gatewayId}/*`) || grants.includes(`${gatewayId}/${cameraId}`);
}

/**
 * The users the hub knows, read from the users file (or given in memory).
 * `verify` re-reads the file when its modification time changed, and pays
 * the same scrypt cost for an unknown name as for a known one, so timing
 * does not tell which names exist.
 */
export class UserDirectory {
  readonly #file: string | undefined;
  #users = new Map<string, UserRecord>();
  #mtimeMs = -1;
  #dummyHash: Promise<string> | undefined;

  private constructor(file: string | undefined) {
    this.#file = file;
  }

  /** Reads `file` once now; later changes are picked up by `refresh()` (called on every sign-in). */
  static async fromFile(file: string): Promise<UserDirectory> {
    const dir = new UserDirectory(file);
    await dir.refresh();
    return dir;
  }

  /** A fixed set of users (tests, embedding). */
  static fromRecords(users: readonly UserRecord[]): UserDirectory {
    const dir = new UserDirectory(undefined);
    dir.#users = new Map(users.map((u) => [u.name, u]));
    return dir;
  }

  /** Re-reads the users file when it changed since the last read. */
  async refresh(): Promise<void> {
    if (!this.#file) return;
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.#file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mtimeMs = 0;
    }
    if (mtimeMs === this.#mtimeMs) return;
    const users = await loadUsers(this.#file);
    this.#users = new Map(users.map((u) => [u.name, u]));
    this.#mtimeMs = mtimeMs;
  }

  get(name: string): UserRecord | undefined {
    return this.#users.get(name);
  }

  get size(): number {
    return this.#users.size;
  }

  /** The user when `password` is right; undefined otherwise (same cost either way). */
  async verify(name: string, password: string): Promise<UserRecord | undefined> {
    const user = typeof name === 'string' ? this.#users.get(name) : undefined;
    const pw = typeof password === 'string' && password.length <= MAX_PASSWORD_CHARS ? password : '';
    if (!user) {
      this.#dummyHash ??= hashSecret('camgate-no-such-user');
      await verifySecret(pw, await this.#dummyHash);
      return undefined;
    }
    return (await verifySecret(pw, user.passwordHash)) ? user : undefined;
  }
}
