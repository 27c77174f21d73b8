/**
 * Which room protects a request path. Patterns are exact paths (`/checkout`) or prefixes ending in `*`
 * (`/shop/*`, `/*`); the most specific pattern wins (exact before prefix, longer prefix before shorter).
 * Pure logic, no I/O.
 */
export interface RoutedRoom {
  id: string;
  paths: string[];
}

interface Route {
  roomId: string;
  exact: boolean;
  prefix: string;
}

export class RoomRoutes {
  private readonly routes: Route[];

  constructor(rooms: readonly RoutedRoom[]) {
    this.routes = rooms
      .flatMap((room) =>
        room.paths.map((p) =>
          p.endsWith('*') ? { roomId: room.id, exact: false, prefix: p.slice(0, -1) } : { roomId: room.id, exact: true, prefix: p },
        ),
      )
      .sort((a, b) => Number(b.exact) - Number(a.exact) || b.prefix.length - a.prefix.length || a.roomId.localeCompare(b.roomId));
  }

  /** The id of the room protecting `path` (no query string), or null. */
  match(path: string): string | null {
    for (const r of this.routes) {
      if (r.exact ? path === r.prefix : path.startsWith(r.prefix)) return r.roomId;
    }
    return null;
  }
}
