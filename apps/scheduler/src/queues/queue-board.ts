import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyPrefix, extractApiKey, roleSatisfies, verifyApiKey } from '@tidegate/auth';
import { QUEUE_NAMES, type Role } from '@tidegate/contracts';
import { ApiKeyRepository } from '@tidegate/database';
import { SendQueues } from './send-queues';

/** Where the dashboard lives: its page, its static files and its JSON API (`/admin/board/api/...`). */
export const BOARD_PATH = '/admin/board';
/** The least role that may open the board (it can retry, clean, pause and empty queues). */
export const BOARD_ROLE: Role = 'sre';
export const BOARD_REALM = 'Tidegate queues';

const TOUCH_INTERVAL_MS = 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Verdict = { ok: true; keyId: string } | { ok: false; status: 401 | 403 | 503; message: string };

/**
 * The key of a request to the board: the password of HTTP Basic auth (any user name; the user name itself when the
 * password is empty), or, as everywhere in the admin API, `Authorization: Bearer <key>` or `X-API-Key`.
 */
export function boardApiKey(headers: FastifyRequest['headers']): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth.trim());
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const key = (colon < 0 ? decoded : decoded.slice(colon + 1) || decoded.slice(0, colon)).trim();
      return key === '' ? null : key;
    }
  }
  return extractApiKey(headers);
}

/**
 * Bull Board (`@bull-board/api` + `@bull-board/fastify`) over the real BullMQ queues, mounted at `/admin/board` on the
 * scheduler's Fastify instance in processes that serve the API.
 *
 * The board is a Fastify plugin, not a Nest controller, so the global `ApiKeyGuard` never sees its routes (and the
 * boot check `RouteRolesCheck`, which lists Nest controllers only, has nothing to complain about; nor does OpenAPI
 * list them). Its own `onRequest` hook, registered in the same encapsulated context as every board route (page,
 * static files, API), does the guard's job with the same building blocks from `@tidegate/auth`: 401 with a Basic
 * challenge (so a browser asks for the key) without a valid key, 403 below `sre`.
 */
@Injectable()
export class QueueBoard implements OnModuleInit {
  private readonly logger = new Logger('QueueBoard');
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
    private readonly keys: ApiKeyRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // preview mode (OpenAPI generation): no server

    const serverAdapter = new BullBoardFastifyAdapter();
    serverAdapter.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: [
        ...QUEUE_NAMES.map((name) => this.moduleRef.get<Queue>(getQueueToken(name), { strict: false })),
        ...this.moduleRef.get(SendQueues, { strict: false }).all,
      ].map((queue) => new BullMQAdapter(queue)),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Tidegate queues', hideDocsLink: true } },
    });

    await fastify.register(
      async (board) => {
        board.addHook('onRequest', (request, reply) => this.authenticate(request, reply));
        await board.register(serverAdapter.registerPlugin());
      },
      { prefix: BOARD_PATH },
    );
  }

  private async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    reply.header('x-frame-options', 'DENY').header('cache-control', 'no-store');
    const verdict = await this.check(request);
    if (!verdict.ok) {
      const error = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }[verdict.status];
      if (verdict.status === 401) reply.header('www-authenticate', `Basic realm="${BOARD_REALM}"`);
      return reply.code(verdict.status).send({ message: verdict.message, error, statusCode: verdict.status });
    }
    // Basic credentials ride along on every request the browser makes, cross-site ones included: a change (PUT,
    // POST, PATCH) must come from the board's own page. curl and scripts send no Sec-Fetch-Site and pass.
    const site = request.headers['sec-fetch-site'];
    if (!SAFE_METHODS.has(request.method) && typeof site === 'string' && site !== 'same-origin') {
      return reply.code(403).send({
        message: `the queue board accepts changes from its own page only (Sec-Fetch-Site: ${site})`,
        error: 'Forbidden',
        statusCode: 403,
      });
    }
    this.touch(verdict.keyId);
    return undefined;
  }

  private async check(request: FastifyRequest): Promise<Verdict> {
    const key = boardApiKey(request.headers);
    if (!key) {
      return {
        ok: false,
        status: 401,
        message: 'missing API key: log in with an sre API key as the password, or send Authorization: Bearer <key>',
      };
    }
    const prefix = apiKeyPrefix(key);
    let record: Awaited<ReturnType<ApiKeyRepository['findByPrefix']>>;
    try {
      record = prefix ? await this.keys.findByPrefix(prefix) : null;
    } catch (err) {
      this.logger.warn(`API key look-up failed: ${err instanceof Error ? err.message : String(err)}`);
      return { ok: false, status: 503, message: 'the API key could not be checked; retry shortly' };
    }
    if (!record || !verifyApiKey(key, record.hash)) return { ok: false, status: 401, message: 'unknown API key' };
    if (record.revokedAt) return { ok: false, status: 401, message: 'this API key was revoked' };
    if (!roleSatisfies(record.role, BOARD_ROLE)) {
      return { ok: false, status: 403, message: `this route needs the ${BOARD_ROLE} role; the key has ${record.role}` };
    }
    return { ok: true, keyId: record.id };
  }

  /** Records last use at most once a minute per key, off the request's path (as the admin API's guard does). */
  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(id, now);
    this.keys.touch(id, new Date(now)).catch(() => this.lastTouched.delete(id));
  }
}
