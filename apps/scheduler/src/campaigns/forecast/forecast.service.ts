import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { CampaignRepository, DispatchSettingsRepository, RoomRepository } from '@tidegate/database';
import {
  FUNNEL_BUCKETS,
  fitOpenDelayHistogram,
  forecastPaced,
  forecastSurge,
  funnelHistogram,
  recommendPlan,
  steadyAdmitsPerSecond,
  UNLIMITED_SEND_PER_SECOND,
  type OpenModel,
  type SurgeForecast,
} from '@tidegate/domain';
import { DispatchStore, FunnelStore } from '@tidegate/redis';
import { RoomTrafficService } from '../../rooms/room-traffic.service';
import { readContent } from '../campaign-content';
import { CampaignsService } from '../campaigns.service';
import type { CampaignForecastView, ForecastQuery, OpenModelUsedView, SurgeForecastView } from './forecast.dto';

/** Opens a measured open model needs before it replaces the defaults. */
export const MIN_MEASURED_OPENS = 30;
/** Recipients sent before a measured open rate is trusted. */
export const MIN_SENT_FOR_RATE = 200;

/**
 * The surge a campaign will cause, before it is sent (libs/domain `forecastSurge`, `recommendPlan`): from its
 * audience and wave plan, the send rate its limits allow, the open model (the request's, else this campaign's own
 * measured opens, else the SREs' defaults) and its room's capacity; with the plan that keeps the predicted max wait
 * within the budget while finishing earliest.
 */
@Injectable()
export class ForecastService {
  constructor(
    private readonly campaigns: CampaignRepository,
    private readonly rooms: RoomRepository,
    private readonly settings: DispatchSettingsRepository,
    private readonly content: CampaignsService,
    private readonly store: DispatchStore,
    private readonly funnel: FunnelStore,
    private readonly traffic: RoomTrafficService,
  ) {}

  async forecast(id: string, query: ForecastQuery): Promise<CampaignForecastView> {
    const campaign = await this.campaigns.findById(id);
    if (!campaign) throw new NotFoundException(`no campaign with id ${id}`);
    if (!campaign.roomId) throw new ConflictException(`campaign ${id} has no room: set room_id to forecast the surge it causes`);
    const room = await this.rooms.findById(campaign.roomId);
    if (!room) throw new ConflictException(`campaign ${id}: its room ${campaign.roomId} no longer exists`);
    const { wavePlan } = readContent(campaign);
    const preview = await this.content.previewStored(id);
    const audience = preview.audience.size;
    const perMinute = preview.plan.rate_per_minute;
    const sendPerSecond = perMinute === null ? UNLIMITED_SEND_PER_SECOND : Math.max(1, perMinute) / 60;
    const openModel = await this.openModel(id, room.id, query);
    const capacity = {
      totalActiveUsers: room.totalActiveUsers,
      newUsersPerMinute: room.newUsersPerMinute,
      sessionSeconds: room.sessionDurationSeconds,
    };
    const budgetSeconds = wavePlan.maxWaitSeconds ?? room.maxWaitSeconds;
    const plan = {
      audience,
      waveSize: wavePlan.waveSize,
      intervalSeconds: wavePlan.intervalSeconds,
      batchSize: wavePlan.batchSize,
      sendPerSecond,
    };
    const model: OpenModel = { openRate: openModel.open_rate, medianDelaySeconds: openModel.median_delay_seconds, sigma: openModel.sigma };
    const planned = forecastSurge({ plan, openModel: model, capacity, budgetSeconds });
    const paced = wavePlan.pacing ? forecastPaced({ plan, openModel: model, capacity, budgetSeconds }) : null;
    const best = recommendPlan({ plan, openModel: model, capacity, budgetSeconds });
    // The quietest window of the week long enough for the recommended plan's surge (from the room's real traffic).
    const surgeSeconds = best.forecast.drainedAtSeconds ?? best.forecast.sendingEndsAtSeconds;
    const windowHours = Math.min(168, Math.max(1, Math.ceil(surgeSeconds / 3600)));
    const quiet = await this.traffic.withSuggestion(room.id, windowHours);
    return {
      campaign_id: id,
      audience,
      budget_seconds: budgetSeconds,
      send_rate_per_minute: Math.round(sendPerSecond * 60),
      open_model: openModel,
      room: {
        room_id: room.id,
        total_active_users: room.totalActiveUsers,
        new_users_per_minute: room.newUsersPerMinute,
        session_duration_seconds: room.sessionDurationSeconds,
        steady_admits_per_minute: Math.round(steadyAdmitsPerSecond(capacity) * 600) / 10,
      },
      planned: toView(planned, wavePlan.waveSize, wavePlan.intervalSeconds),
      paced: paced && toView(paced, wavePlan.waveSize, wavePlan.intervalSeconds),
      quietest_window: quiet.suggestion && {
        hours: quiet.suggestion.hours,
        start: `${quiet.suggestion.start.day} ${String(quiet.suggestion.start.hour).padStart(2, '0')}:00`,
        end: `${quiet.suggestion.end.day} ${String(quiet.suggestion.end.hour).padStart(2, '0')}:00`,
        time_zone: 'UTC',
        mean_spare_places: Math.round(quiet.suggestion.meanSpare),
        min_spare_places: Math.round(quiet.suggestion.minSpare),
      },
      recommendation: {
        feasible: best.feasible,
        wave_size: best.waveSize,
        interval_seconds: best.intervalSeconds,
        reason: best.reason,
        forecast: toView(best.forecast, best.waveSize, best.intervalSeconds),
      },
    };
  }

  /**
   * The open model, field by field: the request's, else measured on this campaign (enough opens), else learned from
   * the room's past campaigns (their sent, opens and send→tap delays added up), else the SREs' defaults.
   */
  private async openModel(id: string, roomId: string, query: ForecastQuery): Promise<OpenModelUsedView> {
    const settings = await this.settings.get();
    const own = await this.measured(id);
    const history = own.delays || own.rate !== null ? null : await this.roomHistory(roomId);
    const learned = own.delays || own.rate !== null ? own : history;
    const given = query.open_rate !== undefined || query.median_delay_seconds !== undefined || query.sigma !== undefined;
    const source = given
      ? 'request'
      : own.delays || own.rate !== null
        ? 'campaign'
        : history?.delays || history?.rate != null
          ? 'room_history'
          : 'settings';
    return {
      open_rate: query.open_rate ?? learned?.rate ?? settings.openRate,
      median_delay_seconds: round(query.median_delay_seconds ?? learned?.delays?.medianDelaySeconds ?? settings.openDelayMedianSeconds),
      sigma: round(query.sigma ?? learned?.delays?.sigma ?? settings.openDelaySigma),
      source,
      samples: learned?.samples ?? 0,
    };
  }

  /** This campaign's own opens: the delay fit (enough opens) and the open rate (enough sent), each or null. */
  private async measured(id: string): Promise<Learned> {
    const funnel = await this.funnel.read(id).catch(() => null);
    const totals = await this.store.summary(id).catch(() => null);
    const delays = funnel ? await this.funnel.openDelays(id).catch(() => null) : null;
    const sent = totals?.settled ?? 0;
    return {
      delays: delays ? fitOpenDelayHistogram(delays.counts, delays.upperMs, MIN_MEASURED_OPENS) : null,
      rate: funnel && sent >= MIN_SENT_FOR_RATE && funnel.opened >= MIN_MEASURED_OPENS ? Math.min(1, funnel.opened / sent) : null,
      samples: delays?.samples ?? 0,
    };
  }

  /** The room's completed campaigns, added up. */
  private async roomHistory(roomId: string): Promise<Learned> {
    const rows = await this.campaigns.roomHistory(roomId);
    const counts = new Array<number>(FUNNEL_BUCKETS).fill(0);
    let sent = 0;
    let opened = 0;
    for (const row of rows) {
      sent += Number(row.sent);
      opened += Number(row.opened);
      const buckets = Array.isArray(row.openDelayMs) ? (row.openDelayMs as unknown[]) : [];
      buckets.forEach((n, i) => {
        if (i < FUNNEL_BUCKETS && Number.isSafeInteger(n) && (n as number) > 0) counts[i]! += n as number;
      });
    }
    const histogram = funnelHistogram(counts);
    return {
      delays: fitOpenDelayHistogram(histogram.counts, histogram.upperMs, MIN_MEASURED_OPENS),
      rate: sent >= MIN_SENT_FOR_RATE && opened >= MIN_MEASURED_OPENS ? Math.min(1, opened / sent) : null,
      samples: histogram.samples,
    };
  }
}

interface Learned {
  delays: { medianDelaySeconds: number; sigma: number } | null;
  rate: number | null;
  samples: number;
}

function toView(f: SurgeForecast, waveSize: number, intervalSeconds: number): SurgeForecastView {
  return {
    wave_size: waveSize,
    interval_seconds: intervalSeconds,
    waves: f.waves.map((w) => ({
      wave: w.wave,
      starts_at_seconds: round(w.startsAtSeconds),
      ends_at_seconds: round(w.endsAtSeconds),
      size: w.size,
    })),
    curve: f.curve.map((c) => ({
      at_seconds: c.atSeconds,
      arrivals_per_minute: c.arrivalsPerMinute,
      admitted_per_minute: c.admittedPerMinute,
      queue: c.queue,
      active: c.active,
    })),
    visitors: f.visitors,
    peak_arrivals_per_minute: f.peakArrivalsPerMinute,
    peak_queue: f.peakQueue,
    peak_active: f.peakActive,
    wait_p50_seconds: round(f.waitP50Seconds),
    wait_p95_seconds: round(f.waitP95Seconds),
    wait_max_seconds: round(f.waitMaxSeconds),
    within_budget: f.withinBudget,
    sending_ends_at_seconds: round(f.sendingEndsAtSeconds),
    drained_at_seconds: f.drainedAtSeconds,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
