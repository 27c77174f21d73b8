/**
 * The simulator's command line: `npm run simulate -- --devices N --open-rate R --pacing on|off --out FILE.json
 * [--option value…]`. Every option is checked (a clear message naming it, exit 2), and the whole set is written
 * into the result's `params`.
 */

export interface SimOptions {
  devices: number;
  openRate: number;
  pacing: boolean;
  out: string;
  /** The room: concurrent places, admission rate, session length (also how long a user stays), wait budget. */
  capacity: number;
  admissionPerMinute: number;
  sessionSeconds: number;
  budgetSeconds: number;
  /** Open delay: log-normal median and sigma (seconds). */
  openMedianSeconds: number;
  openSigma: number;
  /** The campaign's wave plan. */
  waveSize: number;
  intervalSeconds: number;
  batchSize: number;
  /** The campaign's rate limit, messages per minute (the controller paces between 1/64 of it and all of it). */
  sendPerMinute: number;
  /** Processes. */
  userProcesses: number;
  wsProcesses: number;
  gateways: number;
  /** `all`: one scheduler process; `split`: an API process and a worker process. */
  schedulerMode: 'all' | 'split';
  sendConcurrency: number;
  seed: number;
  /** The whole run (campaign start to the last user) must end within this many seconds; past it, it stops. */
  timeLimitSeconds: number;
  /** Use running apps instead of starting them. */
  useRunning: null | { schedulerUrl: string; gatewayUrls: string[]; wsUrls: string[]; apiKey: string; forwardPort: number };
}

export class OptionError extends Error {}

export const USAGE = `usage: npm run simulate -- --devices N --open-rate R --pacing on|off --out FILE.json [options]

  --devices N              simulated devices (campaign audience), 100 to 1,000,000
  --open-rate R            probability that a push is opened, 0 < R <= 1
  --pacing on|off          the campaign's wave_plan.pacing
  --out FILE.json          where the result goes (an SVG chart is written beside it)
  --capacity N             room total_active_users (default 500)
  --admission-rate N       room new_users_per_minute (default 6000)
  --session S              seconds a user stays on the origin = room session_duration_seconds (default 10, >= 10)
  --budget S               the campaign's wait budget, wave_plan.max_wait_seconds (default 60)
  --open-median S          open delay median, seconds (default 5)
  --open-sigma X           open delay sigma, log-normal (default 0.8)
  --wave-size N            default devices/5 (at least the batch)
  --interval S             seconds between waves (default 0)
  --batch N                recipients per send job (default 500)
  --send-rate N            the campaign's rate limit, messages per minute (default 60000): full speed for the
                           pacing controller, which paces down to 1/64 of it
  --user-processes N       processes playing the users (default 4)
  --ws-processes N         ws apps (default 2)
  --gateways N             gateways (default 2)
  --scheduler all|split    one scheduler --role=all, or api + worker (default all)
  --send-concurrency N     worker SEND_CONCURRENCY (default 4)
  --seed N                 PRNG seed (default 1)
  --time-limit S           stop after this many seconds of campaign (default 900)
  --use-running            use running apps: --scheduler-url, --gateway-url (comma list), --ws-url (comma list),
                           --api-key (an sre key), --forward-port (the scheduler's SINK_FORWARD_URL must be
                           http://127.0.0.1:<port>/pushes)
`;

function parseArgv(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new OptionError(`unexpected argument "${arg}" (options start with --)`);
    const eq = arg.indexOf('=');
    if (eq > 0) out.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--')) out.set(arg.slice(2), argv[++i] as string);
    else out.set(arg.slice(2), 'true');
  }
  return out;
}

const KNOWN = new Set([
  'devices',
  'open-rate',
  'pacing',
  'out',
  'capacity',
  'admission-rate',
  'session',
  'budget',
  'open-median',
  'open-sigma',
  'wave-size',
  'interval',
  'batch',
  'send-rate',
  'user-processes',
  'ws-processes',
  'gateways',
  'scheduler',
  'send-concurrency',
  'seed',
  'time-limit',
  'use-running',
  'scheduler-url',
  'gateway-url',
  'ws-url',
  'api-key',
  'forward-port',
  'help',
]);

export function parseOptions(argv: string[]): SimOptions | 'help' {
  const args = parseArgv(argv);
  if (args.has('help')) return 'help';
  const unknown = [...args.keys()].filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw new OptionError(`unknown option ${unknown.map((u) => `--${u}`).join(', ')}`);
  const num = (name: string, fallback: number | undefined, min: number, max: number, integer = true): number => {
    const raw = args.get(name);
    if (raw === undefined) {
      if (fallback === undefined) throw new OptionError(`--${name} is required`);
      return fallback;
    }
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new OptionError(`--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const devices = num('devices', undefined, 100, 1_000_000);
  const openRate = num('open-rate', undefined, 0, 1, false);
  if (openRate === 0) throw new OptionError('--open-rate must be above 0');
  const pacingRaw = args.get('pacing');
  if (pacingRaw !== 'on' && pacingRaw !== 'off') throw new OptionError(`--pacing must be on or off, got "${pacingRaw ?? ''}"`);
  const out = args.get('out');
  if (!out || out === 'true' || !out.endsWith('.json')) throw new OptionError('--out must name a .json file');
  const batchSize = num('batch', 500, 1, 500);
  const scheduler = args.get('scheduler') ?? 'all';
  if (scheduler !== 'all' && scheduler !== 'split') throw new OptionError(`--scheduler must be all or split, got "${scheduler}"`);
  let useRunning: SimOptions['useRunning'] = null;
  if (args.has('use-running')) {
    const need = (name: string) => {
      const v = args.get(name);
      if (!v || v === 'true') throw new OptionError(`--use-running needs --${name}`);
      return v;
    };
    const urls = (name: string) =>
      need(name)
        .split(',')
        .map((u) => u.trim().replace(/\/$/, ''))
        .filter(Boolean);
    useRunning = {
      schedulerUrl: need('scheduler-url').replace(/\/$/, ''),
      gatewayUrls: urls('gateway-url'),
      wsUrls: urls('ws-url'),
      apiKey: need('api-key'),
      forwardPort: num('forward-port', undefined, 1, 65535),
    };
    for (const u of [useRunning.schedulerUrl, ...useRunning.gatewayUrls, ...useRunning.wsUrls]) {
      if (!URL.canParse(u) || !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname)) {
        throw new OptionError(`the simulator loads loopback only: ${u} is not a http://127.0.0.1:<port> URL`);
      }
    }
  }
  return {
    devices,
    openRate,
    pacing: pacingRaw === 'on',
    out,
    capacity: num('capacity', 500, 1, 1_000_000),
    admissionPerMinute: num('admission-rate', 6000, 1, 10_000_000),
    sessionSeconds: num('session', 10, 10, 3600),
    budgetSeconds: num('budget', 60, 1, 86_400),
    openMedianSeconds: num('open-median', 5, 0.1, 3600, false),
    openSigma: num('open-sigma', 0.8, 0.05, 5, false),
    waveSize: num('wave-size', Math.max(batchSize, Math.ceil(devices / 5)), batchSize, 10_000_000),
    intervalSeconds: num('interval', 0, 0, 86_400),
    batchSize,
    sendPerMinute: num('send-rate', 60_000, 1, 100_000_000),
    userProcesses: num('user-processes', 4, 1, 32),
    wsProcesses: num('ws-processes', 2, 1, 8),
    gateways: num('gateways', 2, 1, 8),
    schedulerMode: scheduler,
    sendConcurrency: num('send-concurrency', 4, 1, 64),
    seed: num('seed', 1, 0, 2 ** 31 - 1),
    timeLimitSeconds: num('time-limit', 900, 10, 24 * 3600),
    useRunning,
  };
}
