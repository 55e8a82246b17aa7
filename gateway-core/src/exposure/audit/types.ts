/** A camera as the LAN audit sees it: an id and where its services live on the LAN. */
export interface AuditCamera {
  id: string;
  /** Display name used in advice (never an address). */
  name?: string;
  /** The camera's LAN address (IP literal or hostname). */
  host: string;
  /** RTSP service for the default-credentials check. */
  rtsp?: { port: number; path?: string };
  /** HTTP service for the default-credentials check (Basic auth only). */
  http?: { port: number; path?: string };
  /** Telnet ports to check; default 23 and 2323. */
  telnetPorts?: number[];
}

/** Validates the camera list once, naming the bad field (`cameras[2].host`). */
export function checkCameras(cameras: unknown): AuditCamera[] {
  if (!Array.isArray(cameras)) throw new TypeError(`cameras must be an array, got ${typeof cameras}`);
  const port = (v: unknown, name: string): void => {
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535)
      throw new RangeError(`${name} must be an integer from 1 to 65535, got ${String(v)}`);
  };
  cameras.forEach((c: AuditCamera, i) => {
    if (!c || typeof c.id !== 'string' || c.id === '')
      throw new TypeError(`cameras[${i}].id must be a non-empty string`);
    if (typeof c.host !== 'string' || !/^[A-Za-z0-9.:-]{1,253}$/.test(c.host) || c.host.startsWith('-'))
      throw new TypeError(`cameras[${i}].host must be an IP address or hostname`);
    if (c.rtsp) port(c.rtsp.port, `cameras[${i}].rtsp.port`);
    if (c.http) port(c.http.port, `cameras[${i}].http.port`);
    c.telnetPorts?.forEach((p, j) => port(p, `cameras[${i}].telnetPorts[${j}]`));
  });
  return cameras as AuditCamera[];
}

/** Sleeps `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
