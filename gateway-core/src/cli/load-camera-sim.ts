/**
 * The simulated camera is its own package, `@camgate/camera-sim`, which depends on the core — so the core cannot
 * depend on it, and `camgate camera-sim` / `camgate demo` load it only when run. The shapes below are the part of
 * its API these two commands use; gateway-core/test/cli/camera-sim-package.test.ts checks at type-check time that
 * the package still fits them.
 */
import { CamgateError, type Logger } from '../util/index.js';

/** The package the two commands load. */
export const CAMERA_SIM_PACKAGE = '@camgate/camera-sim';

/** What the CLI passes to `startCameraSim` (a subset of the package's `CameraSimOptions`). */
export interface CliCameraSimOptions {
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  width?: number;
  height?: number;
  fps?: number;
  gopSeconds?: number;
  vulnerable?: { http?: boolean; telnet?: boolean };
  audio?: { codec: 'AAC' | 'PCMA' | 'PCMU'; toneHz?: number };
  backchannel?: { codec: 'AAC' | 'PCMA' | 'PCMU' };
  syncMarks?: { everySeconds: number };
  logger?: Logger;
}

/** What the CLI reads of a running simulated camera (a subset of the package's `CameraSim`). */
export interface CliCameraSim {
  readonly url: string;
  readonly httpPort?: number;
  readonly telnetPort?: number;
  readonly audio?: { readonly codec: string; readonly sampleRate: number; readonly toneHz: number };
  close(): Promise<void>;
}

export interface CameraSimModule {
  startCameraSim(opts: CliCameraSimOptions): Promise<CliCameraSim>;
}

/**
 * Loads `@camgate/camera-sim`; when it is not installed, fails with CAMGATE_CAMERA_SIM_MISSING naming the package,
 * instead of Node's bare ERR_MODULE_NOT_FOUND. `specifier` exists for the test of that message.
 */
export async function loadCameraSim(specifier: string = CAMERA_SIM_PACKAGE): Promise<CameraSimModule> {
  let mod: Partial<CameraSimModule>;
  try {
    // A variable specifier: TypeScript must not resolve (and the build must not need) the package at compile time.
    mod = (await import(specifier)) as Partial<CameraSimModule>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err;
    throw new CamgateError(
      'CAMGATE_CAMERA_SIM_MISSING',
      `this command needs the simulated camera package ${specifier}: install it with npm install ${specifier}`,
      { cause: err },
    );
  }
  if (typeof mod.startCameraSim !== 'function') {
    throw new CamgateError('CAMGATE_CAMERA_SIM_MISSING', `${specifier} does not export startCameraSim`);
  }
  return mod as CameraSimModule;
}
