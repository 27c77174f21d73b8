-- CreateTable
CREATE TABLE "campaign_waves" (
    "campaign_id" UUID NOT NULL,
    "wave" INTEGER NOT NULL,
    "after_id" BIGINT NOT NULL,
    "last_id" BIGINT NOT NULL,
    "size" INTEGER NOT NULL,
    "batches" INTEGER NOT NULL,
    "last" BOOLEAN NOT NULL DEFAULT false,
    "due_at" TIMESTAMP(3) NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "start_note" TEXT,
    "finished_at" TIMESTAMP(3),
    "targeted" INTEGER NOT NULL DEFAULT 0,
    "sent" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "invalid" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "inactive" INTEGER NOT NULL DEFAULT 0,
    "flushed_at" TIMESTAMP(3),

    CONSTRAINT "campaign_waves_pkey" PRIMARY KEY ("campaign_id","wave")
);

-- CreateTable
CREATE TABLE "campaign_stats" (
    "campaign_id" UUID NOT NULL,
    "targeted" INTEGER NOT NULL DEFAULT 0,
    "sent" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "invalid" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "inactive" INTEGER NOT NULL DEFAULT 0,
    "opened" INTEGER NOT NULL DEFAULT 0,
    "by_provider" JSONB NOT NULL DEFAULT '{}',
    "waves" INTEGER NOT NULL DEFAULT 0,
    "flushed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "campaign_stats_pkey" PRIMARY KEY ("campaign_id")
);

-- CreateTable
CREATE TABLE "campaign_opens" (
    "campaign_id" UUID NOT NULL,
    "opener" TEXT NOT NULL,
    "device_id" BIGINT,
    "opened_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "campaign_opens_pkey" PRIMARY KEY ("campaign_id","opener")
);

-- CreateTable
CREATE TABLE "dispatch_settings" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "updated_by" TEXT,

    CONSTRAINT "dispatch_settings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "setting_changes" (
    "id" BIGSERIAL NOT NULL,
    "scope" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "actor_key_id" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "old" JSONB,
    "new" JSONB NOT NULL,
    "reason" TEXT,

    CONSTRAINT "setting_changes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "setting_changes_scope_at_idx" ON "setting_changes"("scope", "at");

-- CreateIndex
CREATE INDEX "setting_changes_at_idx" ON "setting_changes"("at");

-- AddForeignKey
ALTER TABLE "campaign_waves" ADD CONSTRAINT "campaign_waves_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_stats" ADD CONSTRAINT "campaign_stats_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_opens" ADD CONSTRAINT "campaign_opens_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;
