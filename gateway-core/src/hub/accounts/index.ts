export {
  addUser,
  loadUsers,
  parseUsersFile,
  generatePassword,
  isGranted,
  mayTalk,
  setUserTalk,
  UserDirectory,
  type UserRecord,
  type AddUserOptions,
  type AddUserResult,
} from './users.js';
export { SessionStore, type Session, type EndedSession } from './sessions.js';
export { LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
export { parseCookies, sessionCookie, clearSessionCookie, sessionCookieName } from './cookies.js';
