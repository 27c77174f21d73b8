/**
 * Redis for `npm start`: REDIS_URL / REDIS_CLUSTER_NODES when configured; else a Redis already answering on
 * 127.0.0.1:6379 (with its own key prefix, so the demo's keys stay apart); else a `redis-server` we start ourselves.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ManagedProcess } from './children';
import { StartError, log, onPath, pickPort, seconds, sleep } from './common';

const SHARED_HOST = '127.0.0.1';
const SHARED_PORT = 6379;
const PREFERRED_PORT = 63790;
const DEMO_PREFIX = 'tidegate-demo';
const READY_TIMEOUT_MS = 10_000;

export interface RedisChoice {
  /** Variables for the apps: REDIS_URL or REDIS_CLUSTER_NODES, and REDIS_KEY_PREFIX when we pick one. */
  env: Record<string, string>;
  description: string;
  /** Set when we started a server: the supervisor stops it. */
  server?: ManagedProcess;
}

/** Whether a Redis on host:port answers PING with PONG (no password), within `timeoutMs`. */
export function answersPing(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const NOT_FOUND = `Redis is needed, and none was found: REDIS_URL is not set, nothing answers on ${SHARED_HOST}:${SHARED_PORT},
and redis-server is not on PATH. Either:
  - install Redis: sudo apt-get install redis-server   (Debian/Ubuntu; macOS: brew install redis), then npm start again
  - or run one with Docker: docker run --rm -d -p 127.0.0.1:6379:6379 redis:7-alpine
  - or point to yours: REDIS_URL=redis://host:6379 npm start
  - or run the whole stack in Docker instead of npm start: docker compose -f docker/compose.yml up --build`;

/**
 * Decides where Redis is. A spawned server is returned as `server`, already answering PING; the caller registers it
 * with the supervisor (it is registered through `onSpawn` as soon as it exists, so a stop meanwhile reaches it).
 */
export async function resolveRedis(
  root: string,
  onSpawn: (server: ManagedProcess) => void,
  sourceOf: (name: string) => string = () => 'the environment',
): Promise<RedisChoice> {
  const prefix = process.env.REDIS_KEY_PREFIX;
  if (process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES) {
    return {
      env: {},
      description: process.env.REDIS_URL
        ? `REDIS_URL from ${sourceOf('REDIS_URL')} (${redact(process.env.REDIS_URL)})`
        : `REDIS_CLUSTER_NODES from ${sourceOf('REDIS_CLUSTER_NODES')} (${process.env.REDIS_CLUSTER_NODES})`,
    };
  }
  if (await answersPing(SHARED_HOST, SHARED_PORT)) {
    const keyPrefix = prefix || DEMO_PREFIX;
    return {
      env: { REDIS_URL: `redis://${SHARED_HOST}:${SHARED_PORT}`, REDIS_KEY_PREFIX: keyPrefix },
      description: `the Redis already running on ${SHARED_HOST}:${SHARED_PORT} (key prefix ${keyPrefix})`,
    };
  }
  const binary = onPath('redis-server');
  if (!binary) throw new StartError(NOT_FOUND);

  const port = await pickPort(PREFERRED_PORT);
  const dir = path.join(root, '.data', 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const began = Date.now();
  const server = new ManagedProcess(
    'redis',
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { kind: 'infra', cwd: root, env: process.env, detached: true, stopTimeoutMs: 5_000 },
  );
  onSpawn(server);
  let exited = false;
  void server.closed.then(() => (exited = true));
  while (!(await answersPing('127.0.0.1', port, 500))) {
    if (exited) throw new StartError(`redis-server exited during start:\n${server.tail.text()}`);
    if (Date.now() - began > READY_TIMEOUT_MS) {
      throw new StartError(
        `redis-server did not answer PING on 127.0.0.1:${port} within ${seconds(READY_TIMEOUT_MS)}:\n${server.tail.text()}`,
      );
    }
    await sleep(100);
  }
  log(`started redis-server on 127.0.0.1:${port} (${seconds(Date.now() - began)})`);
  return {
    env: { REDIS_URL: `redis://127.0.0.1:${port}`, ...(prefix ? { REDIS_KEY_PREFIX: prefix } : {}) },
    description: `redis-server started for this run on 127.0.0.1:${port} (no persistence)`,
    server,
  };
}

/** A URL without its password, for display. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
