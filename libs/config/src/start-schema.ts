/**
 * Variables of `npm start` itself (scripts/start.ts), beyond the apps' own: validated with the apps' schemas before
 * anything starts. Documented in .env.example like the apps' (a unit test keeps the two in step).
 */
import { z } from 'zod';

export const startEnvSchema = z.object({
  /** Port of the demo shop, the origin behind the demo room, on HOST. */
  DEMO_ORIGIN_PORT: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be a port (1-65535)')
    .max(65535, 'must be a port (1-65535)')
    .default(3005),
});

export type StartConfig = z.infer<typeof startEnvSchema>;
