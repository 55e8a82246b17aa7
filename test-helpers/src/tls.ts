import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSignedCert {
  /** PEM certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1). */
  cert: string;
  /** PEM private key (EC P-256). */
  key: string;
  /** SHA-256 fingerprint, `AA:BB:…` upper case (as Node's X509Certificate reports it). */
  fingerprint256: string;
}

/**
 * Generates a fresh self-signed certificate for localhost with the system
 * `openssl` (an argument array, never a shell string). Each call makes a new
 * key, so two calls give two different fingerprints.
 */
export function makeSelfSignedCert(cn = 'localhost'): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'camgate-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: 'pipe' },
    );
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    return { cert, key, fingerprint256: new X509Certificate(cert).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
