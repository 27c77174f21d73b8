/**
 * The demo data of `npm start`: one waiting room (`demo`), 3,000 demo devices (tag `demo`, the three platforms in
 * turn) and one draft campaign to them in front of the room. `npm start` runs the workers with the sink provider
 * unless provider credentials are configured, so starting the campaign sends nothing anywhere.
 * Idempotent: rows that exist already are left as they are (so changes made through the API survive a restart);
 * `--reset` puts them back to these values.
 *
 *   node dist/scripts/seed.js [--reset]      (npm run db:seed; DATABASE_URL from the environment or .env)
 */
import { PrismaService, type Prisma } from '@tidegate/database';
import { loadDotEnv } from './start/common';

export const DEMO_ROOM_ID = 'demo';
/** Fixed, so every demo (and its docs and tests) names the same campaign. */
export const DEMO_CAMPAIGN_ID = '0de30000-0000-4000-8000-000000000001';

/** Where `npm start` runs the demo shop unless DEMO_ORIGIN_PORT says otherwise. */
const DEFAULT_ORIGIN_URL = 'http://127.0.0.1:3005';

const room = {
  name: 'Demo shop',
  originUrl: DEFAULT_ORIGIN_URL,
  paths: ['/*'],
  totalActiveUsers: 3,
  newUsersPerMinute: 60,
  sessionDurationSeconds: 60,
  message: 'The Demo shop flash sale is busy right now. Keep this page open: you will be let in automatically.',
} satisfies Omit<Prisma.RoomUncheckedCreateInput, 'id'>;

const campaign = {
  name: 'Demo: flash sale',
  status: 'draft',
  message: {
    title: 'Flash sale: 2 hours only',
    body: 'Everything in the Demo shop is 30% off until noon.',
    deepLink: `${DEFAULT_ORIGIN_URL}/sale`,
  },
  audience: { segment: { tagsAll: ['demo'] } },
  schedule: { startAt: null, sendWindow: null, quietHours: null },
  wavePlan: { batchSize: 100, waveSize: 500, intervalSeconds: 10, rateLimits: { campaignPerMinute: 6000 } },
  roomId: DEMO_ROOM_ID,
  createdBy: 'demo seed',
} satisfies Omit<Prisma.CampaignUncheckedCreateInput, 'id'>;

/** Demo devices: tokens that only the sink provider accepts (no real push service knows them). */
export const DEMO_DEVICES = 3000;
const PLATFORMS = ['fcm', 'apns', 'webpush'] as const;

function demoDevice(i: number): Prisma.DeviceCreateManyInput {
  const platform = PLATFORMS[i % 3] as (typeof PLATFORMS)[number];
  const n = String(i).padStart(6, '0');
  const base = { platform, tags: ['demo'], timezone: ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC'][i % 4] as string };
  if (platform === 'webpush') {
    return { ...base, token: `https://push.demo.invalid/sub/${n}`, p256dh: `demo-p256dh-${n}`, auth: `demo-auth-${n}` };
  }
  return { ...base, token: platform === 'apns' ? `de00${n}`.padEnd(64, '0') : `demo-fcm-${n}` };
}

export interface SeedOptions {
  /** Overwrite the demo room and campaign with the values above if they exist. */
  reset?: boolean;
  /**
   * Where the demo shop runs (`npm start` passes its DEMO_ORIGIN_PORT's URL): the demo room's origin, set on an
   * existing room too (the shop moves with that setting), and the demo campaign's link when it is created.
   */
  originUrl?: string;
}

export async function seedDemo(databaseUrl: string, options: SeedOptions = {}): Promise<{ roomId: string; campaignId: string }> {
  const prisma = new PrismaService({ connectionString: databaseUrl, max: 2, applicationName: 'tidegate-seed' });
  try {
    const origin = options.originUrl ?? DEFAULT_ORIGIN_URL;
    const demoRoom = { ...room, originUrl: origin };
    const demoCampaign = { ...campaign, message: { ...campaign.message, deepLink: `${origin}/sale` } };
    await prisma.room.upsert({
      where: { id: DEMO_ROOM_ID },
      create: { id: DEMO_ROOM_ID, ...demoRoom },
      update: options.reset ? demoRoom : options.originUrl ? { originUrl: origin } : {},
    });
    await prisma.device.createMany({ data: Array.from({ length: DEMO_DEVICES }, (_, i) => demoDevice(i + 1)), skipDuplicates: true });
    await prisma.campaign.upsert({
      where: { id: DEMO_CAMPAIGN_ID },
      create: { id: DEMO_CAMPAIGN_ID, ...demoCampaign },
      update: options.reset ? demoCampaign : {},
    });
    return { roomId: DEMO_ROOM_ID, campaignId: DEMO_CAMPAIGN_ID };
  } finally {
    await prisma.$disconnect();
  }
}

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== '--reset');
  if (unknown.length > 0 || args.includes('--help')) {
    process.stderr.write('usage: node dist/scripts/seed.js [--reset]   (DATABASE_URL from the environment or .env)\n');
    return args.includes('--help') ? 0 : 2;
  }
  loadDotEnv();
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('seed: DATABASE_URL is not set (export it, or put it in .env)\n');
    return 2;
  }
  const ids = await seedDemo(url, { reset: args.includes('--reset') });
  process.stdout.write(`demo room:     ${ids.roomId}\ndemo campaign: ${ids.campaignId}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const message =
        err instanceof Error
          ? err.message
              .split('\n')
              .filter((l) => l.trim())
              .slice(-1)[0]
          : String(err);
      process.stderr.write(`seed: ${message}\n`);
      process.exit(1);
    },
  );
}
