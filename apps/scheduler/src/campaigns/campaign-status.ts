/**
 * A campaign's lifecycle, in one place. Every status change goes through `canTransition`; the repository then applies
 * it as a compare-and-set on the status it was checked against, so a race cannot skip this table.
 *
 *   draft ──schedule──► scheduled ──(start_at: worker)──► running ◄──resume── paused
 *     │                    │                               │  └──pause──────────►│
 *     └──start now─────────┼──────────────────────────────►│                     │
 *     └────────────────────┴──cancel──► cancelled ◄────────┴─────────────────────┘
 *                                                 running ──► completed | failed (error-rate threshold)
 *
 * completed, cancelled and failed are final.
 */
export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

const TRANSITIONS: Readonly<Record<CampaignStatus, readonly CampaignStatus[]>> = {
  draft: ['scheduled', 'running', 'cancelled'],
  scheduled: ['running', 'cancelled'],
  running: ['paused', 'completed', 'failed', 'cancelled'],
  paused: ['running', 'failed', 'cancelled'],
  completed: [],
  cancelled: [],
  failed: [],
};

/** Content (message, audience, schedule, wave plan, room) may change only before sending starts. */
export const EDITABLE_STATUSES: readonly CampaignStatus[] = ['draft', 'scheduled'];

/** Whether a campaign in `from` may move to `to`. Staying in the same status is not a transition. */
export function canTransition(from: CampaignStatus, to: CampaignStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses from which `to` can be reached (what a compare-and-set update may start from). */
export function sourcesOf(to: CampaignStatus): CampaignStatus[] {
  return CAMPAIGN_STATUSES.filter((from) => canTransition(from, to));
}

export function isFinal(status: CampaignStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

export function isEditable(status: CampaignStatus): boolean {
  return EDITABLE_STATUSES.includes(status);
}
