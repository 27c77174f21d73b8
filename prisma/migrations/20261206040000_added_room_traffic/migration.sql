-- Origin health thresholds per room, and what admission does while the origin is unhealthy.
ALTER TABLE "rooms" ADD COLUMN "origin_max_p95_ms" INTEGER NOT NULL DEFAULT 2000,
ADD COLUMN "origin_max_error_rate" DOUBLE PRECISION NOT NULL DEFAULT 0.2,
ADD COLUMN "origin_min_requests" INTEGER NOT NULL DEFAULT 20,
ADD COLUMN "unhealthy_admission_factor" DOUBLE PRECISION NOT NULL DEFAULT 0.5;

-- A room's traffic per hour of the week (0 = Monday 00:00 UTC … 167), summed over the weeks observed.
CREATE TABLE "room_traffic" (
    "room_id" TEXT NOT NULL,
    "hour_of_week" INTEGER NOT NULL,
    "arrivals" BIGINT NOT NULL DEFAULT 0,
    "active_sum" BIGINT NOT NULL DEFAULT 0,
    "samples" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "room_traffic_pkey" PRIMARY KEY ("room_id","hour_of_week")
);

-- AddForeignKey
ALTER TABLE "room_traffic" ADD CONSTRAINT "room_traffic_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;
