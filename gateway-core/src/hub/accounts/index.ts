export {
  addUser,
  loadUsers,
  saveUsers,
  parseUsersFile,
  generatePassword,
  isGranted,
  UserDirectory,
  USER_NAME_PATTERN,
  GRANT_PATTERN,
  MIN_PASSWORD_CHARS,
  MAX_PASSWORD_CHARS,
  type UserRecord,
  type AddUserOptions,
  type AddUserResult,
} from './users.js';
export {
  SessionStore,
  DEFAULT_SESSION_STORE_OPTIONS,
  type Session,
  type EndedSession,
  type SessionStoreOptions,
} from './sessions.js';
export {
  LoginLimiter,
  DEFAULT_LOGIN_LIMITER_OPTIONS,
  type LoginLimiterOptions,
  type LoginDecision,
} from './login-limiter.js';
export { parseCookies, sessionCookie, clearSessionCookie, sessionCookieName } from './cookies.js';
