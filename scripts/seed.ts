/**
 * The demo data of `npm start`: one waiting room (`demo`) and one draft campaign in front of it.
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

const room = {
  name: 'Demo shop',
  originUrl: 'http://127.0.0.1:3005',
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
    deepLink: 'http://127.0.0.1:3005/sale',
  },
  audience: { segment: {} },
  schedule: { startAt: null, sendWindow: { start: '01:00', end: '06:00', timezone: 'UTC' } },
  wavePlan: { batchSize: 500, waveSize: 5000, intervalSeconds: 60, provider: 'sink' },
  roomId: DEMO_ROOM_ID,
  createdBy: 'demo seed',
} satisfies Omit<Prisma.CampaignUncheckedCreateInput, 'id'>;

export interface SeedOptions {
  /** Overwrite the demo room and campaign with the values above if they exist. */
  reset?: boolean;
}

export async function seedDemo(databaseUrl: string, options: SeedOptions = {}): Promise<{ roomId: string; campaignId: string }> {
  const prisma = new PrismaService({ connectionString: databaseUrl, max: 2, applicationName: 'tidegate-seed' });
  try {
    await prisma.room.upsert({
      where: { id: DEMO_ROOM_ID },
      create: { id: DEMO_ROOM_ID, ...room },
      update: options.reset ? room : {},
    });
    await prisma.campaign.upsert({
      where: { id: DEMO_CAMPAIGN_ID },
      create: { id: DEMO_CAMPAIGN_ID, ...campaign },
      update: options.reset ? campaign : {},
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
