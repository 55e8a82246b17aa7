/**
 * The install commands the READMEs give users, read from their "## Install"
 * sections, so the registry test runs exactly what a reader types (the
 * registry aside, which the test's npm environment points at its own).
 * test/unit/install-steps.test.ts pins what these sections say.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** README files whose Install section the registry test follows, relative to the repository root. */
export const INSTALL_READMES = {
  root: 'README.md',
  core: 'gateway-core/README.md',
  nodes: 'nodes/README.md',
  homebridge: 'homebridge-plugin/README.md',
} as const;

/**
 * The command lines of the `sh` code blocks in a README's "## Install" section (up to the next `## `
 * heading, and not under a "From a checkout" sub-heading, which is for contributors), without `#` comments.
 */
export function installCommands(readme: keyof typeof INSTALL_READMES): string[] {
  const text = readFileSync(new URL(INSTALL_READMES[readme], `file://${REPO_ROOT}`), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^## Install\b/.test(l));
  if (start < 0) throw new Error(`${INSTALL_READMES[readme]} has no "## Install" section`);
  const out: string[] = [];
  let inBlock = false;
  let contributors = false;
  for (const line of lines.slice(start + 1)) {
    if (!inBlock && /^## /.test(line)) break;
    if (!inBlock && /^### /.test(line)) contributors = /from a checkout/i.test(line);
    if (/^\s*```/.test(line)) {
      inBlock = !inBlock && /^\s*```sh\s*$/.test(line);
      continue;
    }
    if (!inBlock || contributors) continue;
    const cmd = line.replace(/\s+#.*$/, '').trim();
    if (cmd && !cmd.startsWith('#')) out.push(cmd);
  }
  return out;
}

/** The one command of a README's Install section that starts with `prefix`; throws if there is not exactly one. */
export function installCommand(readme: keyof typeof INSTALL_READMES, prefix: string): string[] {
  const hits = installCommands(readme).filter((c) => c === prefix || c.startsWith(`${prefix} `));
  if (hits.length !== 1) {
    throw new Error(
      `${INSTALL_READMES[readme]}: expected one install command starting "${prefix}", found ${hits.length}`,
    );
  }
  return hits[0]!.split(/\s+/);
}
