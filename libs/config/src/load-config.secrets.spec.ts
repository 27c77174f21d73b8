/**
 * A configuration error names the variable and what is wrong, never the value: a mistyped secret must not reach the
 * logs of a supervisor (fast-check; the seed prints on failure).
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { ConfigError, loadConfig } from './load-config';
import { gatewayEnvSchema, schedulerEnvSchema } from './schemas';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const valid = {
  DATABASE_URL: 'postgresql://tidegate:pw@127.0.0.1:5432/tidegate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  TICKET_SECRET: 'ticket-secret-0123456789abcdefghijklmn',
  WAVE_TICKET_SECRET: 'wave-ticket-secret-0123456789abcdefghij',
  ADMISSION_SIGNING_KEY: pem,
};

/** The secret-bearing variables, and the schema that reads each. */
const SECRETS = [
  ['DATABASE_URL', schedulerEnvSchema],
  ['REDIS_URL', schedulerEnvSchema],
  ['WAVE_TICKET_SECRET', schedulerEnvSchema],
  ['BOOTSTRAP_API_KEY', schedulerEnvSchema],
  ['APNS_KEY', schedulerEnvSchema],
  ['VAPID_PRIVATE_KEY', schedulerEnvSchema],
  ['FCM_SERVICE_ACCOUNT', schedulerEnvSchema],
  ['TICKET_SECRET', gatewayEnvSchema],
  ['ADMISSION_SIGNING_KEY', gatewayEnvSchema],
] as const;

describe('configuration errors never repeat a secret', () => {
  it('names the variable without its value, whatever the value', () => {
    let refused = 0;
    const value = fc.oneof(
      fc.string({ minLength: 8, maxLength: 60 }),
      fc.stringMatching(/^[A-Za-z0-9+/_-]{8,60}$/),
      fc.string({ minLength: 8, maxLength: 40 }).map((s) => `postgresql://user:${s}@host/db`),
      fc.string({ minLength: 8, maxLength: 40 }).map((s) => `tg_ABCDEFGH_${s}`),
      fc.string({ minLength: 8, maxLength: 40 }).map((s) => `-----BEGIN PRIVATE KEY-----\n${s}\n-----END PRIVATE KEY-----`),
    );
    fc.assert(
      fc.property(fc.constantFrom(...SECRETS), value, ([variable, schema], secret) => {
        try {
          loadConfig(schema, { ...valid, [variable]: secret });
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          refused++;
          expect(err.message).toContain(variable);
          expect(err.message).not.toContain(secret);
          // The value, or any 8 characters of it that are not also in the message's own words.
          for (let i = 0; i + 8 <= secret.length; i++) {
            const part = secret.slice(i, i + 8);
            if (/[A-Za-z0-9]{8}/.test(part) && !/^[a-z ]+$/.test(part)) expect(err.message).not.toContain(part);
          }
        }
      }),
      { numRuns: 1000 },
    );
    expect(refused).toBeGreaterThan(100);
  });
});
