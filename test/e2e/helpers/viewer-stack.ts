/**
 * The stack the hub's viewer-page tests (viewer-audio, viewer-talk) stand on: simulated cameras with one
 * password, the built-in engine on loopback, a gateway, the hub with a users file, and Chromium. Everything
 * lives in one temporary directory; `close()` stops what started, each part in its own `try`, so a failure
 * halfway through start-up leaks nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { addUser, type AddUserOptions } from '@camgate/core';
import { startCameraSim, type CameraSim, type CameraSimOptions } from '@camgate/camera-sim';
import { startStack, type Stack, launchChromium } from '@camgate/test-helpers';

export interface ViewerStackOptions {
  /** Names the temporary directory (`camgate-NAME-…`). */
  name: string;
  /** The cameras' Digest password (user `admin`); tests check that it never reaches a log. */
  cameraPassword: string;
  /** Video every camera sends. */
  video: Partial<CameraSimOptions>;
  /** Cameras by id (also their name): what each adds to `video` (audio, back channel). */
  cameras: Record<string, Partial<CameraSimOptions>>;
  /** Hub users, written to its users file. */
  users: AddUserOptions[];
  /** Chromium's extra arguments; may write files (a fake microphone's WAV) into `dir` first. */
  chromiumArgs?: (dir: string) => Promise<string[]>;
}

export interface ViewerStack {
  stack: Stack;
  browser: Browser;
  /** The simulated cameras, by id. */
  cameras: Record<string, CameraSim>;
  close(): Promise<void>;
}

const CAMERA_USER = 'admin';

/** Accepts only the browser's loopback ICE candidates (the hub's viewer `acceptBrowserCandidate`). */
const loopbackOnly = (c: string): boolean => c.split(' ')[4] === '127.0.0.1';

/** The CSS selector of player `id`'s tile in the hub's viewer page. */
export const tile = (id: string): string => `.tile[data-id="${id}"]`;

export async function startViewerStack(o: ViewerStackOptions): Promise<ViewerStack> {
  const dir = await mkdtemp(join(tmpdir(), `camgate-${o.name}-`));
  const cameras: Record<string, CameraSim> = {};
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    for (const step of [
      () => browser?.close(),
      () => stack?.close(),
      () => Promise.all(Object.values(cameras).map((c) => c.close())),
      () => rm(dir, { recursive: true, force: true }),
    ]) {
      try {
        await step();
      } catch {
        // the next part still closes
      }
    }
  };
  try {
    const usersFile = join(dir, 'users.json');
    for (const u of o.users) await addUser(usersFile, u);
    for (const [id, extra] of Object.entries(o.cameras)) {
      cameras[id] = await startCameraSim({ username: CAMERA_USER, password: o.cameraPassword, ...o.video, ...extra });
    }
    stack = await startStack({
      cameras: Object.entries(cameras).map(([id, c]) => ({
        id,
        name: id,
        url: c.url,
        username: CAMERA_USER,
        password: o.cameraPassword,
      })),
      engine: { interfaceAddress: '127.0.0.1' },
      hub: { viewer: { usersFile, acceptBrowserCandidate: loopbackOnly } },
    });
    browser = await launchChromium((await o.chromiumArgs?.(dir)) ?? []);
    return { stack, browser, cameras, close };
  } catch (err) {
    await close();
    throw err;
  }
}
