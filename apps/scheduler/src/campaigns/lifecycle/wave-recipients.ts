import { Injectable, Logger } from '@nestjs/common';
import { DispatchRepository, pageHead, pageId, pagePlatforms, type PageText, type PlannedDevice } from '@tidegate/database';
import type { PushPlatform } from '@tidegate/domain';
import { partitionBatches, partitionIdText, type Partition, type PartitionLayout } from '@tidegate/redis';
import type { StoredAudience } from '../campaign-content';

export interface Recipient {
  id: string;
  platform: PushPlatform;
}

export interface RecipientPage {
  recipients: Recipient[];
  /** More of the audience follows this page. */
  more: boolean;
  /** The id the next page starts after. */
  lastId: bigint;
}

/** A batch as the planner enqueues it: its ids joined by commas (decimal, in id order), and its platforms. */
export interface PlannedBatch {
  partition: Partition;
  ids: string;
  platforms: Record<PushPlatform, number>;
}

/** A wave's recipients as listed (WaveRecipients.listWave), cut into batches by the campaign's layout on demand. */
export interface WaveListing {
  size: number;
  more: boolean;
  lastId: bigint;
  cut(batchSize: number, layout: PartitionLayout): PlannedBatch[];
}

/** How many recipients of a batch are on each platform. */
export function countPlatforms(recipients: ReadonlyArray<{ platform: PushPlatform }>): Record<PushPlatform, number> {
  const counts: Record<PushPlatform, number> = { fcm: 0, apns: 0, webpush: 0 };
  for (const r of recipients) counts[r.platform]++;
  return counts;
}

/**
 * A campaign's audience read in id order (keyset pagination): the planner reads each wave with it, and a resend or a
 * re-drive lists a wave again from its checkpoint (`after_id < id <= last_id`).
 */
@Injectable()
export class WaveRecipients {
  private readonly logger = new Logger('WaveRecipients');

  constructor(private readonly repo: DispatchRepository) {}

  /**
   * A wave: the audience after `afterId`, up to `limit` recipients (none past `upTo`), as `page` lists it, ready to be
   * cut into batches. A segment's page is read as text (libs/database page-text.ts: no string or object per device;
   * the batches are slices of it), or as rows should that text not be exactly the page; an inline audience's as rows.
   */
  async listWave(audience: StoredAudience, afterId: bigint, limit: number, upTo: bigint | null = null): Promise<WaveListing> {
    if ('segment' in audience) {
      // One row more than the limit: it tells whether more follow.
      const text = await this.repo.segmentPageText(audience.segment, afterId, limit + 1, upTo);
      if (text) return textListing(text, afterId, limit);
      // Exact either way; a segment whose text is refused every time (an id past 2^53) costs a second read a wave.
      this.logger.warn(`a wave's page after device ${afterId} was not exactly its text (libs/database page-text.ts): read again as rows`);
    }
    return rowListing(await this.page(audience, afterId, limit, upTo));
  }

  /**
   * The audience after `afterId`: up to `limit` recipients, whether more follow (one more row is read to know: no
   * empty last wave), and the id the next page starts after. `upTo` bounds a wave listed again from its checkpoint.
   * For an inline list, `more` and `lastId` come from the list itself, so listed ids that are no longer devices
   * neither end the campaign early nor count as recipients.
   */
  async page(audience: StoredAudience, afterId: bigint, limit: number, upTo: bigint | null = null): Promise<RecipientPage> {
    let rows: PlannedDevice[];
    let more: boolean;
    let lastId: bigint;
    if ('segment' in audience) {
      // The rows come after `afterId` (and up to `upTo`) in id order, ids as text: only the page's last id becomes a
      // number.
      rows = await this.repo.segmentPage(audience.segment, afterId, limit + 1, upTo);
      more = rows.length > limit;
      // At most one row more than the limit was read: the one that tells whether more follow.
      if (more) rows.pop();
      const last = rows.at(-1);
      lastId = last === undefined ? afterId : BigInt(last.id);
    } else {
      const within = (id: bigint) => id > afterId && (upTo === null || id <= upTo);
      const listed = [...new Set(audience.deviceIds)]
        .map((s) => BigInt(s))
        .filter(within)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      more = listed.length > limit;
      const ids = listed.slice(0, limit);
      lastId = ids.at(-1) ?? afterId;
      rows = await this.repo.platformsOf(ids);
    }
    return { recipients: rows, more, lastId };
  }
}

/** A wave read as text (one row more than `limit` at most), its batches slices of the text. */
export function textListing(read: PageText, afterId: bigint, limit: number): WaveListing {
  const more = read.count > limit;
  const page = pageHead(read, limit);
  return {
    size: page.count,
    more,
    lastId: page.count === 0 ? afterId : BigInt(pageId(page, page.count - 1)),
    cut: (batchSize, layout) =>
      partitionIdText(page, batchSize, layout).map((b) => ({
        partition: b.partition,
        ids: b.ids,
        platforms: pagePlatforms(page, b.entries),
      })),
  };
}

/** A wave read as rows. */
export function rowListing(page: RecipientPage): WaveListing {
  return {
    size: page.recipients.length,
    more: page.more,
    lastId: page.lastId,
    cut: (batchSize, layout) =>
      partitionBatches(page.recipients, batchSize, layout, (r) => r.id).map(({ partition, items }) => ({
        partition,
        ids: items.map((r) => r.id).join(','),
        platforms: countPlatforms(items),
      })),
  };
}
