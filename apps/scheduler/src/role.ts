import { SCHEDULER_ROLES, type SchedulerRole } from '@tidegate/config';

/**
 * The scheduler runs as `api` (admin HTTP API), `worker` (BullMQ processors) or `all`, so the API and the workers
 * scale separately. `--role=<role>` on the command line wins over SCHEDULER_ROLE.
 */
export function roleFromArgs(args: readonly string[], fallback: SchedulerRole): SchedulerRole {
  const arg = args.find((a) => a.startsWith('--role='));
  if (!arg) return fallback;
  const value = arg.slice('--role='.length);
  if (!(SCHEDULER_ROLES as readonly string[]).includes(value)) {
    throw new Error(`--role must be one of ${SCHEDULER_ROLES.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as SchedulerRole;
}

export const servesApi = (role: SchedulerRole) => role === 'api' || role === 'all';
export const runsWorkers = (role: SchedulerRole) => role === 'worker' || role === 'all';
