import { CAMPAIGN_STATUSES, canTransition, isEditable, isFinal, sourcesOf, type CampaignStatus } from './campaign-status';

describe('campaign status transitions', () => {
  const allowed: Array<[CampaignStatus, CampaignStatus]> = [
    ['draft', 'scheduled'],
    ['draft', 'running'],
    ['draft', 'cancelled'],
    ['scheduled', 'running'],
    ['scheduled', 'cancelled'],
    ['running', 'paused'],
    ['running', 'completed'],
    ['running', 'failed'],
    ['running', 'cancelled'],
    ['paused', 'running'],
    ['paused', 'failed'],
    ['paused', 'cancelled'],
  ];

  it('allows exactly the lifecycle edges', () => {
    for (const from of CAMPAIGN_STATUSES) {
      for (const to of CAMPAIGN_STATUSES) {
        const expected = allowed.some(([f, t]) => f === from && t === to);
        expect([from, to, canTransition(from, to)]).toEqual([from, to, expected]);
      }
    }
  });

  it('cancels from draft, scheduled, running and paused only', () => {
    expect(sourcesOf('cancelled')).toEqual(['draft', 'scheduled', 'running', 'paused']);
    expect(sourcesOf('scheduled')).toEqual(['draft']);
  });

  it('has three final statuses, and content is editable before sending only', () => {
    expect(CAMPAIGN_STATUSES.filter(isFinal)).toEqual(['completed', 'cancelled', 'failed']);
    expect(CAMPAIGN_STATUSES.filter(isEditable)).toEqual(['draft', 'scheduled']);
  });

  it('never allows staying put or leaving a final status', () => {
    for (const s of CAMPAIGN_STATUSES) expect(canTransition(s, s)).toBe(false);
    for (const to of CAMPAIGN_STATUSES) expect(canTransition('completed', to) || canTransition('failed', to)).toBe(false);
  });
});
