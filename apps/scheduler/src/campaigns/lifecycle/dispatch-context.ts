import { Injectable } from '@nestjs/common';
import { CampaignRepository, DispatchSettingsRepository, type Campaign } from '@tidegate/database';
import { type DispatchSettings } from '@tidegate/domain';
import { readContent, type CampaignContent } from '../campaign-content';

/** How long a worker trusts what it read: SRE changes and pauses reach every batch within about this long. */
export const CONTEXT_MAX_AGE_MS = 1000;

export interface CampaignSnapshot {
  campaign: Campaign;
  content: CampaignContent;
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

/**
 * What the workers read on every job, cached for a second per process: the campaign (status, content, wave plan)
 * and the system's dispatch settings. A pause therefore stops new batches within a second; batches already sending
 * finish (their messages are in the providers' hands).
 */
@Injectable()
export class DispatchContext {
  private readonly campaigns = new Map<string, Cached<CampaignSnapshot | null>>();
  private settingsCache: Cached<DispatchSettings> | null = null;

  constructor(
    private readonly campaignRepo: CampaignRepository,
    private readonly settingsRepo: DispatchSettingsRepository,
  ) {}

  /** The campaign as of at most `maxAgeMs` ago (0: read it now), or null when it does not exist. */
  campaign(id: string, maxAgeMs = CONTEXT_MAX_AGE_MS): Promise<CampaignSnapshot | null> {
    const now = Date.now();
    const cached = this.campaigns.get(id);
    if (cached && now - cached.at <= maxAgeMs) return cached.value;
    const value = this.campaignRepo.findById(id).then((campaign) => (campaign ? { campaign, content: readContent(campaign) } : null));
    value.catch(() => this.campaigns.delete(id));
    this.campaigns.set(id, { at: now, value });
    if (this.campaigns.size > 10_000) this.campaigns.delete(this.campaigns.keys().next().value as string);
    return value;
  }

  /** Whether the campaign is paused right now (read afresh, and the cache refreshed with it). */
  async isPaused(id: string): Promise<boolean> {
    return (await this.campaign(id, 0))?.campaign.status === 'paused';
  }

  /** Forgets a campaign (after this process changed its status). */
  forget(id: string): void {
    this.campaigns.delete(id);
  }

  settings(): Promise<DispatchSettings> {
    const now = Date.now();
    if (this.settingsCache && now - this.settingsCache.at <= CONTEXT_MAX_AGE_MS) return this.settingsCache.value;
    const value = this.settingsRepo.get();
    value.catch(() => (this.settingsCache = null));
    this.settingsCache = { at: now, value };
    return value;
  }
}
