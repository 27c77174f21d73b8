-- CreateIndex
CREATE INDEX "devices_tags_idx" ON "devices" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "devices_platform_idx" ON "devices"("platform");

-- CreateIndex
CREATE INDEX "devices_locale_idx" ON "devices"("locale");

-- CreateIndex
CREATE INDEX "devices_timezone_idx" ON "devices"("timezone");

-- CreateIndex
CREATE INDEX "devices_last_seen_at_idx" ON "devices"("last_seen_at");
