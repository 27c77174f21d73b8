/** The ws app's socket.io endpoint: nobody joins without a ticket, and the reason is machine-readable. */
import { io, type Socket } from 'socket.io-client';
import { startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

function refusalOf(url: string, auth: Record<string, unknown>): Promise<{ message: string; reason?: string }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(url, { auth, transports: ['websocket'], reconnection: false, timeout: 5000 });
    socket.on('connect', () => {
      socket.disconnect();
      reject(new Error('the socket was accepted'));
    });
    socket.on('connect_error', (err: Error & { data?: { reason?: string } }) => {
      socket.disconnect();
      resolve({ message: err.message, reason: err.data?.reason });
    });
  });
}

describe('ws handshake', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let ws: RunningApp;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    ws = await startWs({ databaseUrl: db.url, redisPrefix: redis.prefix });
  });

  afterAll(async () => {
    await ws?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  it('refuses a socket without a ticket, saying so', async () => {
    const refused = await refusalOf(ws.url, {});
    expect(refused.reason).toBe('ticket_missing');
    expect(refused.message).toContain('ticket is required');
  });

  it('refuses a ticket it did not issue', async () => {
    await expect(refusalOf(ws.url, { ticket: 'forged.ticket' })).resolves.toMatchObject({ reason: 'ticket_invalid' });
  });

  it('serves health next to socket.io on the same port', async () => {
    expect((await fetch(`${ws.url}/health/ready`)).status).toBe(200);
  });
});
