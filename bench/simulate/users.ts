/**
 * A process that plays simulated users (forked by the simulator, several of them: one process may hold at most
 * 20,000 open files). It receives the pushes of the devices it plays, draws each device's choice (open or not, after
 * which delay) from the run's seed, runs the users, and reports their records. It stops when told to, or when its
 * IPC channel to the simulator closes.
 */
import { openDecision } from './prng';
import type { ToUsers, UserRecord, UsersConfig, UsersReport, UsersState } from './protocol';
import { shardOf } from './prng';
import { simulateUser } from './user';

let config: UsersConfig | null = null;
const records: UserRecord[] = [];
const stop = new AbortController();
let received = 0;
let scheduled = 0;
let inProgress = 0;
let waiting = 0;
let done = 0;
const timers = new Set<NodeJS.Timeout>();

const send = (message: object) => process.send?.(message);

function state(): UsersState {
  return { type: 'state', received, scheduled, inProgress, waiting, done };
}

function start(cfg: UsersConfig, deviceId: string, waveTicket: string | null, sentAt: number): void {
  const delay = openDecision(cfg.openModel, cfg.seed, deviceId);
  if (delay === null) return;
  const record: UserRecord = {
    deviceId,
    sentAt,
    openedAt: 0,
    arrivedAt: null,
    ticket: null,
    firstEtaSeconds: null,
    firstEtaAt: null,
    admittedAt: null,
    leftAt: null,
    via: null,
    positions: 0,
    positionIncreases: 0,
    disconnects: 0,
    error: null,
  };
  records.push(record);
  scheduled++;
  const timer = setTimeout(
    () => {
      timers.delete(timer);
      scheduled--;
      inProgress++;
      const shard = shardOf(deviceId, 1 << 16);
      void simulateUser(
        {
          config: cfg,
          gatewayUrl: cfg.gatewayUrls[shard % cfg.gatewayUrls.length] as string,
          wsUrl: cfg.wsUrls[(shard >> 4) % cfg.wsUrls.length] as string,
          signal: stop.signal,
          onWaiting: (d) => (waiting += d),
        },
        record,
        waveTicket,
      )
        .catch((err: unknown) => {
          record.error ??= `simulator: ${err instanceof Error ? err.message : String(err)}`;
        })
        .finally(() => {
          inProgress--;
          done++;
        });
    },
    Math.max(0, sentAt + delay * 1000 - Date.now()),
  );
  timers.add(timer);
}

process.on('message', (message: ToUsers) => {
  switch (message.type) {
    case 'config':
      config = message;
      send({ type: 'ready' });
      break;
    case 'pushes':
      if (!config) return;
      for (const m of message.messages) {
        received++;
        start(config, m.deviceId, m.waveTicket, m.sentAt);
      }
      break;
    case 'state?':
      send(state());
      break;
    case 'report?': {
      const report: UsersReport = { type: 'report', records, state: state() };
      send(report);
      break;
    }
    case 'stop':
      for (const t of timers) clearTimeout(t);
      timers.clear();
      scheduled = 0;
      stop.abort();
      send({ type: 'stopped' });
      break;
  }
});
process.on('disconnect', () => process.exit(0));
