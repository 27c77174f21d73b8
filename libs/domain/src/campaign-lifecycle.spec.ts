import {
  CAMPAIGN_STATUSES,
  CAMPAIGN_TRANSITIONS,
  canMove,
  decide,
  isEditable,
  isFinal,
  sourcesOf,
  targetOf,
  type CampaignStatus,
  type CampaignTransition,
} from './campaign-lifecycle';

describe('campaign lifecycle', () => {
  const edges: Array<[CampaignStatus, CampaignStatus]> = [
    ['draft', 'scheduled'],
    ['draft', 'running'],
    ['draft', 'cancelled'],
    ['scheduled', 'running'],
    ['scheduled', 'cancelled'],
    ['running', 'running'], // resend while running: the failed recipients are queued again
    ['running', 'paused'],
    ['running', 'completed'],
    ['running', 'failed'],
    ['running', 'cancelled'],
    ['paused', 'running'],
    ['paused', 'failed'],
    ['paused', 'cancelled'],
    ['completed', 'running'],
  ];

  it('allows exactly the lifecycle edges', () => {
    for (const from of CAMPAIGN_STATUSES) {
      for (const to of CAMPAIGN_STATUSES) {
        const expected = edges.some(([f, t]) => f === from && t === to);
        expect([from, to, canMove(from, to)]).toEqual([from, to, expected]);
      }
    }
  });

  it('names each transition with its sources and target', () => {
    const table = Object.fromEntries(CAMPAIGN_TRANSITIONS.map((t) => [t, [sourcesOf(t), targetOf(t)]]));
    expect(table).toEqual({
      schedule: [['draft'], 'scheduled'],
      start: [['draft', 'scheduled'], 'running'],
      clock_start: [['scheduled'], 'running'],
      pause: [['running'], 'paused'],
      auto_pause: [['running'], 'paused'],
      resume: [['paused'], 'running'],
      resend: [['running', 'paused', 'completed'], 'running'],
      cancel: [['draft', 'scheduled', 'running', 'paused'], 'cancelled'],
      complete: [['running'], 'completed'],
      fail: [['running', 'paused'], 'failed'],
    });
  });

  it('lets the admin API and the system perform only their own transitions', () => {
    const system: CampaignTransition[] = ['clock_start', 'auto_pause', 'complete', 'fail'];
    for (const t of CAMPAIGN_TRANSITIONS) {
      const from = sourcesOf(t)[0] as CampaignStatus;
      expect([t, decide(from, t, system.includes(t) ? 'system' : 'api').ok]).toEqual([t, true]);
      const wrong = decide(from, t, system.includes(t) ? 'api' : 'system');
      expect([t, wrong.ok ? 'ok' : wrong.reason]).toEqual([t, 'wrong_actor']);
    }
  });

  it('refuses a transition from the wrong status with a message a caller can act on', () => {
    expect(decide('paused', 'start', 'api')).toEqual({
      ok: false,
      reason: 'wrong_status',
      message: 'the campaign is paused: only a draft or scheduled campaign can start (resume it)',
    });
    expect(decide('completed', 'cancel', 'api')).toMatchObject({ ok: false, reason: 'wrong_status' });
    const resume = decide('running', 'resume', 'api');
    expect(!resume.ok && resume.message).toBe('the campaign is running: only a paused campaign can be resumed');
  });

  it('has two final statuses; completed can still send its failed recipients again; content editable before sending', () => {
    expect(CAMPAIGN_STATUSES.filter(isFinal)).toEqual(['cancelled', 'failed']);
    expect(CAMPAIGN_STATUSES.filter(isEditable)).toEqual(['draft', 'scheduled']);
    expect(decide('completed', 'resend', 'api')).toEqual({ ok: true, from: 'completed', to: 'running' });
  });
});
