import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { RoomSettings } from '@tidegate/contracts';
import { RoomRepository, roomSettings } from '@tidegate/database';
import { REDIS, RedisKeys, RoomConfigStore, type RedisClient } from '@tidegate/redis';
import { RoomRoutes } from './room-routes';

export interface GatewayRoom {
  id: string;
  name: string;
  origin: URL;
  message: string | null;
  settings: RoomSettings;
}

export const ROOMS_REFRESH_MS = Symbol('ROOMS_REFRESH_MS');
/** Even without a version change, reload from PostgreSQL this often (repairs a lost hot copy or version bump). */
const FULL_RELOAD_MS = 30_000;

/**
 * The rooms this gateway serves, from PostgreSQL, reloaded within a second of a change: the admin API bumps a
 * version key in Redis on every change and this registry polls it. Each reload also rewrites the rooms' hot copies
 * in Redis (idempotent), so a flushed Redis heals itself. Settings that decide admission are read from the hot copy
 * by the Lua scripts on every call; this registry serves routing (paths, origin) and the waiting page.
 */
@Injectable()
export class RoomRegistry implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RoomRegistry.name);
  private rooms = new Map<string, GatewayRoom>();
  private routes = new RoomRoutes([]);
  private version = -1;
  private lastFullLoad = 0;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  /** The last reload failed (logged once per outage). */
  private failing = false;
  private readonly store: RoomConfigStore;

  constructor(
    private readonly repository: RoomRepository,
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
    @Inject(ROOMS_REFRESH_MS) private readonly refreshMs: number,
  ) {
    this.store = new RoomConfigStore(redis, keys);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh().catch((err: unknown) => this.logger.warn(`rooms not loaded yet: ${message(err)}`));
    this.timer = setInterval(() => {
      this.refresh().then(
        () => {
          if (this.failing) this.logger.log('rooms reload works again');
          this.failing = false;
        },
        (err: unknown) => {
          if (!this.failing) this.logger.warn(`rooms reload failed: ${message(err)}; serving the rooms loaded last, retrying`);
          this.failing = true;
        },
      );
    }, this.refreshMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  match(path: string): GatewayRoom | null {
    const id = this.routes.match(path);
    return id ? (this.rooms.get(id) ?? null) : null;
  }

  get(id: string): GatewayRoom | null {
    return this.rooms.get(id) ?? null;
  }

  /** The rooms were loaded from PostgreSQL at least once (until then the gateway knows no room: not ready). */
  get loaded(): boolean {
    return this.lastFullLoad > 0;
  }

  all(): GatewayRoom[] {
    return [...this.rooms.values()];
  }

  /** Reloads when the version moved (or every 30 s); concurrent calls share one reload. */
  refresh(): Promise<void> {
    this.loading ??= this.reloadIfChanged().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async reloadIfChanged(): Promise<void> {
    const version = await this.store.version();
    if (version === this.version && Date.now() - this.lastFullLoad < FULL_RELOAD_MS) return;
    const rows = await this.repository.list();
    const next = new Map<string, GatewayRoom>();
    for (const row of rows) {
      next.set(row.id, { id: row.id, name: row.name, origin: new URL(row.originUrl), message: row.message, settings: roomSettings(row) });
    }
    await Promise.all([...next.values()].map((room) => this.store.writeSettings(room.id, room.settings)));
    // No version key (none written yet, or Redis lost its data): set one, so that the next loss reads as a change and
    // is repaired at the next refresh rather than the full reload. Remembered as unknown (-1): the next refresh
    // reloads once more and takes the version as it is then (a change written meanwhile is not missed).
    if (version === 0) await this.store.markVersion();
    this.rooms = next;
    this.routes = new RoomRoutes(rows.map((r) => ({ id: r.id, paths: r.paths })));
    this.version = version === 0 ? -1 : version;
    this.lastFullLoad = Date.now();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
