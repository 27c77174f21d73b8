/** The simulator's calls to the scheduler's admin API (an sre key), each bounded in time; a non-2xx answer throws. */
import { Readable } from 'node:stream';

type Json = Record<string, unknown>;

export class AdminApi {
  constructor(
    private readonly baseUrl: string,
    private readonly key: string,
  ) {}

  async call<T = Json>(method: string, route: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const res = await fetch(`${this.baseUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 600)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * Registers `count` FCM devices tagged `tag` through the streamed import (NDJSON, generated as it is sent): about
   * 25,000-35,000 rows a second here.
   */
  async importDevices(count: number, tag: string, runId: string): Promise<Json> {
    const CHUNK = 2000;
    let next = 0;
    const stream = new Readable({
      read() {
        if (next >= count) {
          this.push(null);
          return;
        }
        const lines: string[] = [];
        for (const end = Math.min(count, next + CHUNK); next < end; next++) {
          // An FCM-shaped registration token (100+ characters of A-Za-z0-9_:-), unique per run and device.
          const token = `sim${runId}:${String(next).padStart(8, '0')}_${'APA91b'.repeat(16)}`;
          lines.push(JSON.stringify({ platform: 'fcm', token, tags: [tag], timezone: 'UTC' }));
        }
        this.push(`${lines.join('\n')}\n`);
      },
    });
    const res = await fetch(`${this.baseUrl}/admin/devices/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(stream) as ReadableStream,
      duplex: 'half',
      signal: AbortSignal.timeout(600_000),
    });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201) throw new Error(`device import: ${res.status} ${text.slice(0, 600)}`);
    const answer = JSON.parse(text) as Json;
    if (answer.accepted !== count) throw new Error(`device import accepted ${String(answer.accepted)} of ${count}: ${text.slice(0, 600)}`);
    return answer;
  }

  /** Every timeline entry of a campaign (pages of 500, at most 200 pages). */
  async timeline(id: string): Promise<Json[]> {
    const items: Json[] = [];
    let after: string | null = null;
    for (let page = 0; page < 200; page++) {
      const answer: { items: Json[]; next_after: string | null } = await this.call(
        'GET',
        `/admin/campaigns/${id}/timeline?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      items.push(...answer.items);
      after = answer.next_after;
      if (!after) break;
    }
    return items;
  }
}
