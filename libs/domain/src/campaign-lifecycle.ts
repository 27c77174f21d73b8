/**
 * A campaign's lifecycle: its statuses, the named transitions between them, and who may perform each. Pure: the
 * scheduler's lifecycle service (apps/scheduler/src/campaigns/lifecycle) asks `decide` before every change and then
 * applies it as a compare-and-set on the status it was decided from, so a race cannot skip this table.
 *
 *   draft ──schedule──► scheduled ──clock_start (start_at reached)──► running ◄──resume── paused
 *     │                    │                                           │  ├──pause / auto_pause─►│
 *     └──start─────────────┴──start───────────────────────────────────►│  │                      │
 *     └────────────────────┴──cancel──► cancelled ◄────────────────────┴──┴──────────────────────┘
 *                                            running ──complete──► completed ──resend (failed recipients)──► running
 *                                  running | paused ──fail──► failed
 *
 * cancelled and failed are final; completed is final except that its failed recipients may be sent again.
 */
export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Every change a campaign's status can go through, named for what happened. */
export const CAMPAIGN_TRANSITIONS = [
  'schedule',
  'start',
  'clock_start',
  'pause',
  'auto_pause',
  'resume',
  'resend',
  'cancel',
  'complete',
  'fail',
] as const;
export type CampaignTransition = (typeof CAMPAIGN_TRANSITIONS)[number];

/** Who performs a transition: a person through the admin API, or the system (the clock, a worker, a guard). */
export type ActorKind = 'api' | 'system';

interface Edge {
  from: readonly CampaignStatus[];
  to: CampaignStatus;
  by: ActorKind;
  /** Said in a 409 when the campaign is in none of `from`. */
  needs: string;
}

const EDGES: Readonly<Record<CampaignTransition, Edge>> = {
  schedule: { from: ['draft'], to: 'scheduled', by: 'api', needs: 'only a draft campaign can be scheduled' },
  start: { from: ['draft', 'scheduled'], to: 'running', by: 'api', needs: 'only a draft or scheduled campaign can start' },
  clock_start: { from: ['scheduled'], to: 'running', by: 'system', needs: 'only a scheduled campaign starts at its time' },
  pause: { from: ['running'], to: 'paused', by: 'api', needs: 'only a running campaign can be paused' },
  auto_pause: { from: ['running'], to: 'paused', by: 'system', needs: 'only a running campaign is paused by a guard' },
  resume: { from: ['paused'], to: 'running', by: 'api', needs: 'only a paused campaign can be resumed' },
  resend: {
    from: ['running', 'paused', 'completed'],
    to: 'running',
    by: 'api',
    needs: 'failed recipients can be sent again only while the campaign is running, paused or completed',
  },
  cancel: {
    from: ['draft', 'scheduled', 'running', 'paused'],
    to: 'cancelled',
    by: 'api',
    needs: 'a completed, cancelled or failed campaign cannot be cancelled',
  },
  complete: { from: ['running'], to: 'completed', by: 'system', needs: 'only a running campaign completes' },
  fail: { from: ['running', 'paused'], to: 'failed', by: 'system', needs: 'only a running or paused campaign can fail' },
};

export type TransitionDecision =
  { ok: true; from: CampaignStatus; to: CampaignStatus } | { ok: false; reason: 'wrong_status' | 'wrong_actor'; message: string };

/**
 * Whether `transition` may be performed on a campaign in `status` by `actor`, and the status it leads to. A refusal
 * says why in words an API caller can act on (it becomes the 409's message).
 */
export function decide(status: CampaignStatus, transition: CampaignTransition, actor: ActorKind): TransitionDecision {
  const edge = EDGES[transition];
  if (edge.by !== actor) {
    return { ok: false, reason: 'wrong_actor', message: `${transition} is performed by the ${edge.by === 'api' ? 'admin API' : 'system'}` };
  }
  if (!edge.from.includes(status)) {
    const hint = status === 'paused' && transition === 'start' ? ' (resume it)' : '';
    return { ok: false, reason: 'wrong_status', message: `the campaign is ${status}: ${edge.needs}${hint}` };
  }
  return { ok: true, from: status, to: edge.to };
}

/** The statuses a transition may start from (what its compare-and-set requires). */
export function sourcesOf(transition: CampaignTransition): readonly CampaignStatus[] {
  return EDGES[transition].from;
}

/** The status a transition leads to. */
export function targetOf(transition: CampaignTransition): CampaignStatus {
  return EDGES[transition].to;
}

/** Whether any transition leads from `from` to `to`. */
export function canMove(from: CampaignStatus, to: CampaignStatus): boolean {
  return CAMPAIGN_TRANSITIONS.some((t) => EDGES[t].to === to && EDGES[t].from.includes(from));
}

/** Content (message, audience, schedule, wave plan, room) may change only before sending starts. */
export const EDITABLE_STATUSES: readonly CampaignStatus[] = ['draft', 'scheduled'];

export function isEditable(status: CampaignStatus): boolean {
  return EDITABLE_STATUSES.includes(status);
}

/** Statuses in which sending may still happen (workers keep their jobs). */
export function isSending(status: CampaignStatus): boolean {
  return status === 'running' || status === 'paused';
}

/** No transition leaves it (completed is not final: its failed recipients may be sent again). */
export function isFinal(status: CampaignStatus): boolean {
  return !CAMPAIGN_TRANSITIONS.some((t) => EDGES[t].from.includes(status));
}
