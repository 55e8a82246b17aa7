import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { CamgateError } from '../util/errors.js';

/** Largest configuration file we read: configs are small, a huge file is a mistake. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Formats zod issues as `path: message` lines (`cameras[2].url: …`), so every
 * error names the field that is wrong.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const path = i.path
        .map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('\n');
}

/**
 * A YAML syntax error as `path:line:column: not valid YAML (CODE)`. The yaml
 * library's own message quotes the offending line, and that line may be
 * `password: …`: it is never printed.
 */
export function describeYamlError(path: string, err: unknown): string {
  const e = err as { linePos?: { line: number; col: number }[]; code?: unknown };
  const at = e?.linePos?.[0];
  const where = at ? `${path}:${at.line}:${at.col}` : path;
  const code = typeof e?.code === 'string' && /^[A-Z_]{1,40}$/.test(e.code) ? ` (${e.code})` : '';
  return `${where}: not valid YAML${code}; fix the syntax at that position`;
}

/** Validates `value` against `schema`; throws CAMGATE_CONFIG listing every bad field. */
export function validateConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new CamgateError('CAMGATE_CONFIG', `${source} is not valid:\n${formatIssues(result.error.issues)}`);
  }
  return result.data;
}

/** Reads a YAML (or JSON) configuration file and validates it. */
export async function loadConfigFile<S extends z.ZodType>(schema: S, path: string): Promise<z.output<S>> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_CONFIG_BYTES) {
      throw new CamgateError('CAMGATE_CONFIG', `${path} is ${buf.length} bytes; the limit is ${MAX_CONFIG_BYTES}`);
    }
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof CamgateError) throw err;
    throw new CamgateError('CAMGATE_CONFIG', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new CamgateError('CAMGATE_CONFIG', describeYamlError(path, err));
  }
  return validateConfig(schema, raw ?? {}, path);
}
