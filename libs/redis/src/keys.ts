/**
 * The one key builder. Every Redis key Tidegate writes is made here, so a key's shape, its Cluster hash tag and the
 * deployment prefix (`REDIS_KEY_PREFIX`, different per test file for isolation) are decided in one place.
 *
 * Hash tags: all keys of one room share `{room:<id>}` and all keys of one campaign share `{campaign:<id>}`, so a Lua
 * script touching several of them stays in one Cluster slot. BullMQ gets `<prefix>:{bull}` as its prefix, which puts
 * each queue's keys in one slot as BullMQ requires.
 *
 * A campaign's per-device keys (ledger bitmaps, counters, sends) are split into dispatch partitions
 * (dispatch-partitions.ts): partition p of n > 1 has its own hash tag `{dp<p>.<k>}`, chosen so the n tags' slots are
 * spread evenly over the slot space (all campaigns share them); with n = 1 they are the campaign's own keys.
 */
import { checkPartition, partitionTag, type Partition } from './dispatch-partitions';

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

function checkId(kind: string, id: string): string {
  if (!ID_PATTERN.test(id)) throw new Error(`invalid ${kind} id for a Redis key: ${JSON.stringify(id)}`);
  return id;
}

export class RedisKeys {
  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9_:.-]+$/.test(prefix)) throw new Error(`invalid Redis key prefix: ${JSON.stringify(prefix)}`);
  }

  /** Prefix handed to BullMQ queues and workers. */
  get bullPrefix(): string {
    return `${this.prefix}:{bull}`;
  }

  /**
   * Prefix of send queue `send-<q>` of n (libs/contracts sendQueueName): `<prefix>:{<tag>}`, the hash tag of ledger
   * partition q of n, so each send queue's keys are in one slot and the n queues spread as the partitions do.
   */
  sendQueuePrefix(q: number, n: number): string {
    return `${this.prefix}:{${partitionTag(q, n)}}`;
  }

  /** Keys of one waiting room; they share a hash tag, so every admission script stays in one Cluster slot. */
  room(roomId: string) {
    const base = `${this.prefix}:{room:${checkId('room', roomId)}}`;
    return {
      /** Hot copy of the room's settings (hash; fields in room-config.ts). */
      config: `${base}:config`,
      /** Last ticket number handed out (counter). */
      tickets: `${base}:tickets`,
      /**
       * The current line's start, epoch seconds (Redis clock): written with the line's first ticket (arrive). Every
       * ticket of the line carries an issue time at or after it; a ticket issued before it is of a line that was lost
       * (Redis lost its data, the room was re-created), whatever its number (missing: 0, a line begun before this key).
       */
      line: `${base}:line`,
      /** Every ticket up to this number has been released: admitted (a reserved session) or skipped. */
      serving: `${base}:serving`,
      /** Admitted sessions and reservations, scored by expiry in ms (sorted set). */
      sessions: `${base}:sessions`,
      /** Admission-rate token bucket (hash: tokens, ts). */
      rate: `${base}:rate`,
      /** One bit per ticket number: the holder left (bitmap). */
      gone: `${base}:gone`,
      /** Gone tickets after `serving`, i.e. still in the line but to be skipped (counter). */
      goneCount: `${base}:gone-count`,
      /**
       * Gone tickets per block of 4096 ticket numbers, as a Fenwick tree over the blocks (u32 counters in a string,
       * BITFIELD; layout in libs/redis/src/scripts/_gone-blocks.lua): the exact place of any ticket in O(log) time.
       */
      goneBlocks: `${base}:gone-blocks`,
      /** One bit per ticket number: the holder was seen during grace bucket `n`, so the place is kept (bitmap, expires). */
      seen: (bucket: number) => `${base}:seen:${bucket}`,
      /** One bit per ticket number: the holder was there during presence bucket `n` (bitmap, expires). */
      present: (bucket: number) => `${base}:present:${bucket}`,
      /** Tickets passed over while their holders were away, each keeping its place until a deadline (sorted set: ms). */
      parked: `${base}:parked`,
      /** Admissions per second, for the measured admission rate (hash: epoch second -> count). */
      admits: `${base}:admits`,
      /** (ticket, issue time) samples, at most one a second, for the age of the oldest ticket (sorted set). */
      clock: `${base}:clock`,
      /** The releaser's latest RoomSnapshot (JSON string). */
      snapshot: `${base}:snapshot`,
      /**
       * What the gateways measured of the room's origin, per epoch second (hash: `<second>:<field>` -> count; fields
       * in libs/admission/src/origin-stats-store.ts); seconds older than the window are dropped when it is read.
       */
      origin: `${base}:origin`,
      /** The origin's last health judgement, for hysteresis across ticks and gateways (JSON: OriginHealth, expires). */
      originHealth: `${base}:origin-health`,
      /**
       * Traffic per hour of the week not yet flushed to PostgreSQL (hash: `<hour>:a` arrivals, `<hour>:s` sum of
       * sampled active sessions, `<hour>:n` samples; `last_sample`: epoch second of the last sample).
       */
      traffic: `${base}:traffic`,
      /**
       * Requests of one client (`dev:<device id>`, `ip:<address>` or a digest: see the gateway's throttle) in this
       * room's current throttle window (counter with expiry), counted inside the admission scripts.
       */
      client: (clientKey: string) => `${base}:client:${checkId('client', clientKey)}`,
      /** Held by the releaser of this room while it runs a tick (string with expiry). */
      releaserLock: `${base}:releaser`,
      /**
       * A waiting ticket whose holder a wave ticket attributed to a campaign (string `<campaign>|<wave>|<queued at
       * ms>`, expires): read and deleted when the holder is admitted, to count the campaign's admitted and time in queue.
       */
      waveVisitor: (ticket: number) => `${base}:wave-visitor:${ticket}`,
      /** Pattern matching every key of this room (deleting a room; never on a hot path). */
      everything: `${base}:*`,
    };
  }

  /** Bumped whenever any room's settings change; gateways poll it to reload settings within a second. */
  get roomsVersion(): string {
    return `${this.prefix}:rooms:version`;
  }

  /** Keys of one campaign; they share a hash tag. */
  campaign(campaignId: string) {
    const base = `${this.prefix}:{campaign:${checkId('campaign', campaignId)}}`;
    return {
      /** Bitmap of device ids whose message the provider accepted. */
      sentLedger: `${base}:sent`,
      /** Counters per campaign and per wave (hash; layout in docs/dispatch.md, "Stats"). */
      stats: `${base}:stats`,
      /** Bitmap of device ids with a final outcome in this campaign (sent, invalid, failed, inactive): never sent again. */
      settled: `${base}:settled`,
      /** Bitmap of device ids held for their quiet hours at least once (counted once as skipped). */
      held: `${base}:held`,
      /** Set of `<queue>|<job id>` parked while the campaign is paused; resume promotes them. */
      parked: `${base}:parked`,
      /** Bitmap of device ids whose final outcome is `failed` (a resend clears their bits and sends them again). */
      failed: `${base}:failed`,
      /** Bitmap of device ids that failed for a transient cause (5xx, timeout, 429 after every attempt): resumed, they are sent again. */
      transient: `${base}:transient`,
      /** What the sender is waiting for right now, if anything (JSON: CampaignActivity), for the live status. */
      activity: `${base}:activity`,
      /** Messages sent per epoch second (hash): the pacing controller's record of what was sent. */
      sends: `${base}:sends`,
      /** The pacing controller's latest decision (JSON: PacingDecision with its time), for the senders and the API. */
      pace: `${base}:pace`,
      /** Held by the worker deciding this campaign's pacing this second (string with expiry). */
      paceLock: `${base}:pace-lock`,
      /** Held by the worker re-driving a stuck campaign (string with expiry). */
      redriveLock: `${base}:redrive-lock`,
      /** The room the campaign's visitors enter (string: room id; written by the sender): a wave ticket counts only there. */
      room: `${base}:room`,
      /** Bitmap of device ids whose wave ticket was presented (opened): each device counts once. */
      opened: `${base}:opened`,
      /** Who first presented each device's wave ticket (hash: device id -> digest of X-Device-Id): tells replays. */
      presenters: `${base}:presenters`,
      /** The funnel's counters and histograms (hash; layout in campaign-funnel.ts). */
      funnel: `${base}:funnel`,
    };
  }

  /**
   * The per-device keys of one dispatch partition of a campaign (see dispatch-partitions.ts): one slot per partition,
   * the record and reopen scripts touch only these. Partition 0 of 1 is the campaign's own keys (the layout before
   * partitions), so its stats hash is also the campaign's.
   */
  campaignPartition(campaignId: string, partition: Partition) {
    const { index, of } = checkPartition(partition);
    const own = this.campaign(campaignId);
    if (of === 1) {
      const { settled, sentLedger, held, failed, transient, stats, sends } = own;
      return { settled, sentLedger, held, failed, transient, stats, sends };
    }
    const base = `${this.prefix}:{${partitionTag(index, of)}}:campaign:${checkId('campaign', campaignId)}`;
    return {
      /** Bitmaps as the campaign's own (offset: bitOffset in dispatch-partitions.ts). */
      settled: `${base}:settled`,
      sentLedger: `${base}:sent`,
      held: `${base}:held`,
      failed: `${base}:failed`,
      transient: `${base}:transient`,
      /** The partition's share of the outcome counters (hash; merged by DispatchStore.stats). */
      stats: `${base}:stats`,
      /** The partition's share of the messages sent per epoch second (hash). */
      sends: `${base}:sends`,
    };
  }

  /**
   * Rate-limit buckets (GCRA state: hashes). They share the `{limits}` hash tag so one script takes from the global,
   * campaign and provider buckets atomically on a Cluster too.
   */
  get limits() {
    const base = `${this.prefix}:{limits}`;
    return {
      global: `${base}:global`,
      campaign: (campaignId: string) => `${base}:campaign:${checkId('campaign', campaignId)}`,
      /** A campaign's own limit for one provider. */
      campaignProvider: (campaignId: string, provider: string) =>
        `${base}:campaign:${checkId('campaign', campaignId)}:${checkId('provider', provider)}`,
      provider: (provider: string) => `${base}:provider:${checkId('provider', provider)}`,
      /** What every provider bucket's key starts with (a 429 can block only these: DispatchStore.penalise). */
      providerPrefix: `${base}:provider:`,
    };
  }

  /** Campaigns whose counters changed since the last write-behind flush (a set). */
  get dispatchDirty(): string {
    return `${this.prefix}:dispatch:dirty`;
  }

  /** Per-client throttling counters, one key per throttler name and client. */
  throttle(name: string, clientKey: string): string {
    return `${this.prefix}:throttle:${checkId('throttler', name)}:{${checkId('client', clientKey)}}`;
  }

  /**
   * An admin API key verified against PostgreSQL within the last minute (JSON: id, name, role, hash; with expiry), by
   * the key's 8-character prefix: lets the admin API authenticate it while PostgreSQL is out of reach.
   */
  verifiedApiKey(keyPrefix: string): string {
    return `${this.prefix}:api-keys:verified:${checkId('API key prefix', keyPrefix)}`;
  }

  /** Pattern matching every key under this prefix (for test clean-up and tooling, never on a hot path). */
  get everything(): string {
    return `${this.prefix}:*`;
  }
}
