import { type z } from 'zod';

/** One bad environment variable: its name and what is wrong with it. */
export interface ConfigIssue {
  variable: string;
  message: string;
}

/** Thrown at boot when the environment does not satisfy an app's schema. The message is a single line. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Validates `env` against `schema` once. Empty strings count as unset, so `FOO=` in a .env file falls back to the
 * default instead of failing as an invalid value.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') cleaned[key] = value;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const variable = issue.path.length > 0 ? issue.path.join('.') : 'environment';
    const missing = issue.code === 'invalid_type' && cleaned[variable] === undefined;
    return { variable, message: missing ? 'required' : issue.message };
  });
  throw new ConfigError(issues);
}

/**
 * For an app's `main`: returns the config, or prints the one-line error and exits with status 78 (EX_CONFIG),
 * so a supervisor does not mistake a misconfiguration for a crash worth restarting quickly.
 */
export function loadConfigOrExit<S extends z.ZodType>(app: string, schema: S, env: Env = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${app}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
