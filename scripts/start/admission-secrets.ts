/**
 * The gateway's ticket secret and admission signing key, and the wave tickets' secret (scheduler and gateway), for
 * `npm start`: TICKET_SECRET / ADMISSION_SIGNING_KEY / WAVE_TICKET_SECRET
 * when configured, else the ones kept in .data/, else new ones saved there (mode 0600), so a restart keeps
 * everyone's tickets and tokens valid.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface AdmissionSecrets {
  TICKET_SECRET: string;
  ADMISSION_SIGNING_KEY: string;
  /** The scheduler signs the wave tickets in every push with it, the gateway checks them. */
  WAVE_TICKET_SECRET: string;
}

function kept(file: string, make: () => string): string {
  if (fs.existsSync(file)) {
    const saved = fs.readFileSync(file, 'utf8').trim();
    if (saved !== '') return saved;
  }
  const value = make();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return value;
}

export function admissionSecrets(root: string): AdmissionSecrets {
  const dir = path.join(root, '.data');
  return {
    TICKET_SECRET: process.env.TICKET_SECRET || kept(path.join(dir, 'ticket-secret'), () => randomBytes(32).toString('base64url')),
    WAVE_TICKET_SECRET:
      process.env.WAVE_TICKET_SECRET || kept(path.join(dir, 'wave-ticket-secret'), () => randomBytes(32).toString('base64url')),
    ADMISSION_SIGNING_KEY:
      process.env.ADMISSION_SIGNING_KEY ||
      kept(path.join(dir, 'admission-signing-key.pem'), () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ),
  };
}
