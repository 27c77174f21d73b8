-- The campaign funnel from wave tickets (sent -> opened -> queued -> admitted), written behind from Redis by the
-- stats flush: totals, per wave (JSON), and the raw bucket counts of the time in queue and the send->tap delay.
-- CreateTable
CREATE TABLE "campaign_funnel" (
    "campaign_id" UUID NOT NULL,
    "opened" INTEGER NOT NULL DEFAULT 0,
    "queued" INTEGER NOT NULL DEFAULT 0,
    "admitted" INTEGER NOT NULL DEFAULT 0,
    "replayed" INTEGER NOT NULL DEFAULT 0,
    "waves" JSONB NOT NULL DEFAULT '[]',
    "queue_ms_buckets" JSONB NOT NULL DEFAULT '[]',
    "open_delay_buckets" JSONB NOT NULL DEFAULT '[]',
    "flushed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "campaign_funnel_pkey" PRIMARY KEY ("campaign_id")
);

-- AddForeignKey
ALTER TABLE "campaign_funnel" ADD CONSTRAINT "campaign_funnel_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;
