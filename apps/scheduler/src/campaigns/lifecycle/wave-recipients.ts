import { Injectable } from '@nestjs/common';
import { DispatchRepository, type PlannedDevice } from '@tidegate/database';
import type { PushPlatform } from '@tidegate/domain';
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
  constructor(private readonly repo: DispatchRepository) {}

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
      // The rows come after `afterId` in id order, ids as text: only the end of a listed-again wave is checked, and only
      // the page's last id becomes a number.
      rows = await this.repo.segmentPage(audience.segment, afterId, limit + 1);
      if (upTo !== null) rows = rows.filter((r) => BigInt(r.id) <= upTo);
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
