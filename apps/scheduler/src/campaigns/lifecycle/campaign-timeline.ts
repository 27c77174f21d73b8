import type { CampaignEvent } from '@tidegate/database';
import type { CampaignStatus } from '@tidegate/domain';
import type { TimelineEntryView, TimelinePageView } from '../campaigns.dto';

export const DEFAULT_TIMELINE_PAGE = 100;

export function toTimelineEntry(e: CampaignEvent): TimelineEntryView {
  return {
    id: e.id.toString(),
    at: e.at,
    kind: e.kind,
    from_status: (e.fromStatus as CampaignStatus | null) ?? null,
    to_status: (e.toStatus as CampaignStatus | null) ?? null,
    actor: e.actor,
    reason: e.reason,
    figures: (e.figures as Record<string, unknown> | null) ?? null,
  };
}

/** A page of the timeline: `rows` holds one more entry than the page when another page follows. */
export function toTimelinePage(page: { rows: CampaignEvent[]; limit: number }): TimelinePageView {
  const items = page.rows.slice(0, page.limit).map(toTimelineEntry);
  return { items, next_after: page.rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
}
