import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsNumber, IsOptional, Max, Min } from 'class-validator';

export class ForecastQuery {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: "Fraction of recipients who open (overrides what is measured and the SREs' default)",
  })
  @IsOptional()
  @Type(() => Number)
  @IsNumber()
  @Min(0)
  @Max(1)
  open_rate?: number;
  @ApiPropertyOptional({ minimum: 0.1, maximum: 86400, description: 'Median send→tap delay, seconds (overrides)' })
  @IsOptional()
  @Type(() => Number)
  @IsNumber()
  @Min(0.1)
  @Max(86_400)
  median_delay_seconds?: number;
  @ApiPropertyOptional({ minimum: 0.05, maximum: 5, description: 'Spread of ln(delay) (overrides)' })
  @IsOptional()
  @Type(() => Number)
  @IsNumber()
  @Min(0.05)
  @Max(5)
  sigma?: number;
}

export class OpenModelUsedView {
  @ApiProperty() open_rate!: number;
  @ApiProperty() median_delay_seconds!: number;
  @ApiProperty() sigma!: number;
  @ApiProperty({
    enum: ['request', 'campaign', 'room_history', 'settings'],
    description: "Where it comes from: the query, this campaign's own measured opens, past campaigns of its room, or the SREs' defaults",
  })
  source!: 'request' | 'campaign' | 'room_history' | 'settings';
  @ApiProperty({ description: 'Opens the measured part is fitted from (0 when not measured)' }) samples!: number;
}

export class RoomCapacityView {
  @ApiProperty() room_id!: string;
  @ApiProperty() total_active_users!: number;
  @ApiProperty() new_users_per_minute!: number;
  @ApiProperty() session_duration_seconds!: number;
  @ApiProperty({ description: 'People per minute the room lets in once full: min(rate, places / session)' })
  steady_admits_per_minute!: number;
}

export class ForecastPointView {
  @ApiProperty({ description: 'Seconds from the first send (start of the minute)' }) at_seconds!: number;
  @ApiProperty() arrivals_per_minute!: number;
  @ApiProperty() admitted_per_minute!: number;
  @ApiProperty({ description: 'Most people waiting during the minute' }) queue!: number;
  @ApiProperty({ description: 'Most people admitted during the minute' }) active!: number;
}

export class ForecastWaveView {
  @ApiProperty() wave!: number;
  @ApiProperty() starts_at_seconds!: number;
  @ApiProperty() ends_at_seconds!: number;
  @ApiProperty() size!: number;
}

export class SurgeForecastView {
  @ApiProperty() wave_size!: number;
  @ApiProperty() interval_seconds!: number;
  @ApiProperty({ type: [ForecastWaveView] }) waves!: ForecastWaveView[];
  @ApiProperty({ type: [ForecastPointView], description: 'Per minute from the first send until the line is empty' })
  curve!: ForecastPointView[];
  @ApiProperty() visitors!: number;
  @ApiProperty() peak_arrivals_per_minute!: number;
  @ApiProperty() peak_queue!: number;
  @ApiProperty() peak_active!: number;
  @ApiProperty() wait_p50_seconds!: number;
  @ApiProperty() wait_p95_seconds!: number;
  @ApiProperty() wait_max_seconds!: number;
  @ApiProperty() within_budget!: boolean;
  @ApiProperty() sending_ends_at_seconds!: number;
  @ApiProperty({ type: 'number', nullable: true, description: 'When the last visitor is in (null: beyond the horizon)' })
  drained_at_seconds!: number | null;
}

export class RecommendationView {
  @ApiProperty({ description: 'A plan within budget × (1 − margin) exists' }) feasible!: boolean;
  @ApiProperty() wave_size!: number;
  @ApiProperty() interval_seconds!: number;
  @ApiProperty({ description: 'Why, in words (and what would help when no plan can)' }) reason!: string;
  @ApiProperty({ type: SurgeForecastView }) forecast!: SurgeForecastView;
}

export class QuietWindowView {
  @ApiProperty({ description: 'Long enough for the recommended plan’s surge, whole hours' }) hours!: number;
  @ApiProperty({ example: 'tuesday 02:00', description: 'Day and hour it starts' }) start!: string;
  @ApiProperty({ example: 'tuesday 05:00' }) end!: string;
  @ApiProperty({ enum: ['UTC'] }) time_zone!: 'UTC';
  @ApiProperty({ description: 'Places free on average over the window (capacity − typical active)' }) mean_spare_places!: number;
  @ApiProperty() min_spare_places!: number;
}

export class CampaignForecastView {
  @ApiProperty({ format: 'uuid' }) campaign_id!: string;
  @ApiProperty({ description: 'Recipients (the audience estimate, or the list)' }) audience!: number;
  @ApiProperty({ description: 'The wait budget: the campaign’s, else its room’s' }) budget_seconds!: number;
  @ApiProperty({ description: 'How fast its batches can leave (its and the providers’ limits), messages per minute' })
  send_rate_per_minute!: number;
  @ApiProperty({ type: OpenModelUsedView }) open_model!: OpenModelUsedView;
  @ApiProperty({ type: RoomCapacityView }) room!: RoomCapacityView;
  @ApiProperty({ type: SurgeForecastView, description: 'The campaign as planned, waves leaving as set (what pacing off would cause)' })
  planned!: SurgeForecastView;
  @ApiProperty({
    type: SurgeForecastView,
    nullable: true,
    description: 'The campaign as the pacing controller would shape it, second by second (null: pacing is off)',
  })
  paced!: SurgeForecastView | null;
  @ApiProperty({
    type: QuietWindowView,
    nullable: true,
    description: "The send window of the week with the most spare places, from the room's measured traffic (null: not enough observed yet)",
  })
  quietest_window!: QuietWindowView | null;
  @ApiProperty({ type: RecommendationView }) recommendation!: RecommendationView;
}
