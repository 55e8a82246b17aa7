import { KurentoRpcError } from './errors.js';

/** A JSON object received from the network (`params`, `constructorParams`, `operationParams`). */
export type Params = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Params {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Readers for typed parameters. The messages follow KMS's generated
 * marshalling code ("'offer' parameter is required", MARSHALL_ERROR 40001),
 * so a client sees the same answer from either server.
 */
export function requireString(p: Params, name: string, maxLength = 65_536): string {
  const v = p[name];
  if (v === undefined || v === null) throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter is required`);
  if (typeof v !== 'string') throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter should be a string`);
  if (v.length > maxLength) {
    throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `'${name}' parameter is longer than ${maxLength}`);
  }
  return v;
}

export function optionalString(p: Params, name: string, maxLength = 65_536): string | undefined {
  return p[name] === undefined || p[name] === null ? undefined : requireString(p, name, maxLength);
}

export function requireBoolean(p: Params, name: string): boolean {
  const v = p[name];
  if (v === undefined || v === null) throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter is required`);
  if (typeof v !== 'boolean') throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter should be a boolean`);
  return v;
}

export function optionalBoolean(p: Params, name: string): boolean | undefined {
  return p[name] === undefined || p[name] === null ? undefined : requireBoolean(p, name);
}

export function requireInt(p: Params, name: string, min: number, max: number): number {
  const v = p[name];
  if (v === undefined || v === null) throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter is required`);
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter should be an integer`);
  }
  if (v < min || v > max) {
    throw new KurentoRpcError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `'${name}' must be between ${min} and ${max}`);
  }
  return v;
}

export function optionalInt(p: Params, name: string, min: number, max: number): number | undefined {
  return p[name] === undefined || p[name] === null ? undefined : requireInt(p, name, min, max);
}

/** MediaType enum (core.kmd.json). */
export const MEDIA_TYPES = ['AUDIO', 'DATA', 'VIDEO'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

export function optionalMediaType(p: Params, name: string): MediaType | undefined {
  const v = optionalString(p, name, 16);
  if (v === undefined) return undefined;
  if (!(MEDIA_TYPES as readonly string[]).includes(v)) {
    throw new KurentoRpcError('MARSHALL_ERROR', `'${name}' parameter should be one of ${MEDIA_TYPES.join(', ')}`);
  }
  return v as MediaType;
}
