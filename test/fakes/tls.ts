/**
 * A self-signed certificate for 127.0.0.1 and localhost, for fakes served over TLS. `node:crypto` cannot make an
 * X.509 certificate, so it comes from the `openssl` command (present on Debian and in the project's images);
 * one per test process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TlsCertificate {
  key: string;
  cert: string;
}

let cached: TlsCertificate | undefined;

export function selfSignedCertificate(): TlsCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'tidegate-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    // prettier-ignore
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    cached = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
