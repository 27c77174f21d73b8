import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CreateRoomDto, UpdateRoomDto } from './rooms.dto';
import { fieldsSet } from './rooms.service';

/** The messages class-validator reports, by property, with the options of the app's global ValidationPipe. */
async function errorsOf(cls: typeof CreateRoomDto | typeof UpdateRoomDto, body: object): Promise<Record<string, string[]>> {
  const errors = await validate(plainToInstance(cls, body), { whitelist: true, forbidNonWhitelisted: true });
  return Object.fromEntries(errors.map((e) => [e.property, Object.values(e.constraints ?? {})]));
}

/** A test title for a value that may be long. */
const short = (value: unknown) => {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 50 ? `${s.slice(0, 50)}… (${s.length} characters)` : s;
};

/** it.each rows of [title, value, expected message] from [value, expected message]. */
const labelled = (row: unknown[]): [string, unknown, RegExp] => [short(row[0]), row[0], row[1] as RegExp];

const valid = { id: 'spring-sale', origin_url: 'https://shop.example.com' };

describe('CreateRoomDto', () => {
  it('accepts the smallest room: an id and an origin', async () => {
    expect(await errorsOf(CreateRoomDto, valid)).toEqual({});
  });

  it('accepts every field at its limits', async () => {
    const room = {
      ...valid,
      name: 'Spring sale',
      paths: ['/shop/*', '/checkout', '/*', '/a-b_c.d~e/%20x/', '/shop*'],
      total_active_users: 10_000_000,
      new_users_per_minute: 1,
      session_duration_seconds: 10,
      queueing_method: 'reject',
      queue_all: true,
      suspended: false,
      max_wait_seconds: 0,
      message: 'x'.repeat(500),
    };
    expect(await errorsOf(CreateRoomDto, room)).toEqual({});
    expect(await errorsOf(CreateRoomDto, { ...room, session_duration_seconds: 86_400, max_wait_seconds: 86_400 })).toEqual({});
  });

  it('requires id and origin_url, naming each', async () => {
    const errors = await errorsOf(CreateRoomDto, {});
    expect(Object.keys(errors).sort()).toEqual(['id', 'origin_url']);
  });

  it.each(['Spring-Sale', '-sale', 'spring_sale', 'spring sale', 'a/b', '', 'a'.repeat(64), 'ü', 42])('refuses the id %p', async (id) => {
    const errors = await errorsOf(CreateRoomDto, { ...valid, id });
    expect(errors.id).toEqual([expect.stringMatching(/^id must be a slug/)]);
  });

  it.each(['a', '0', 'spring-sale-2026', 'a'.repeat(63), 'a-'])('accepts the id %p', async (id) => {
    expect(await errorsOf(CreateRoomDto, { ...valid, id })).toEqual({});
  });

  it.each(
    [
      ['shop.example.com', /absolute URL/],
      ['/shop', /absolute URL/],
      ['ftp://shop.example.com', /http:\/\/ or https:\/\//],
      ['https://shop.example.com/?a=1', /query/],
      ['https://shop.example.com/#top', /fragment/],
      ['https://shop.example.com?', /query/],
      ['https://user:pw@shop.example.com', /credentials/],
      [' https://shop.example.com', /whitespace/],
      [`https://shop.example.com/${'a'.repeat(2048)}`, /at most 2048/],
      [42, /must be a string/],
    ].map(labelled),
  )('refuses the origin_url %s', async (_label, origin_url, why) => {
    const errors = await errorsOf(CreateRoomDto, { ...valid, origin_url });
    expect(errors.origin_url).toEqual([expect.stringMatching(why)]);
    expect(errors.origin_url?.[0]).toMatch(/^origin_url /);
  });

  it.each(['http://localhost:8080', 'https://shop.example.com/base/', 'http://10.0.0.7'])(
    'accepts the origin_url %p',
    async (origin_url) => {
      expect(await errorsOf(CreateRoomDto, { ...valid, origin_url })).toEqual({});
    },
  );

  describe('paths', () => {
    it.each(
      [
        [['shop/*'], /\[0\] "shop\/\*" must start with \//],
        [['/a*b'], /\* only as its last character/],
        [['/a/**'], /\* only as its last character/],
        [['/*/a'], /\* only as its last character/],
        [['/shop?x=1'], /query/],
        [['/shop#x'], /fragment/],
        [['/sh op'], /URL path characters/],
        [['/%zz'], /URL path characters/],
        [[`/${'a'.repeat(200)}`], /at most 200 characters/],
        [[''], /must start with \//],
        [[7], /\[0\] must be a string/],
        [['/ok', 'bad'], /\[1\] "bad" must start with \//],
        [['/x', '/x'], /must not repeat a pattern \("\/x"\)/],
        [[], /at least 1 path pattern/],
        [Array.from({ length: 51 }, (_, i) => `/p${i}`), /at most 50 path patterns/],
        ['/*', /must be an array/],
        [null, /must be an array/],
      ].map(labelled),
    )('refuses %s', async (_label, paths, why) => {
      const errors = await errorsOf(CreateRoomDto, { ...valid, paths });
      expect(errors.paths).toEqual([expect.stringMatching(why)]);
      expect(errors.paths?.[0]).toMatch(/^paths /);
    });

    it('accepts 50 patterns of 200 characters', async () => {
      const paths = Array.from({ length: 50 }, (_, i) => `/${String(i).padStart(2, '0')}${'a'.repeat(196)}*`);
      expect(paths.every((p) => p.length === 200)).toBe(true);
      expect(await errorsOf(CreateRoomDto, { ...valid, paths })).toEqual({});
    });
  });

  it.each([
    ['total_active_users', 1, 10_000_000],
    ['new_users_per_minute', 1, 10_000_000],
    ['session_duration_seconds', 10, 86_400],
    ['max_wait_seconds', 0, 86_400],
  ])('takes %s as an integer from %d to %d', async (field, min, max) => {
    for (const ok of [min, max]) expect(await errorsOf(CreateRoomDto, { ...valid, [field]: ok })).toEqual({});
    for (const bad of [min - 1, max + 1, -1, 1.5, '100', null, true, Number.NaN]) {
      const errors = await errorsOf(CreateRoomDto, { ...valid, [field]: bad });
      expect(errors).toEqual({ [field]: [`${field} must be an integer from ${min} to ${max}`] });
    }
  });

  it('takes queueing_method from fifo, passthrough, reject', async () => {
    for (const ok of ['fifo', 'passthrough', 'reject'])
      expect(await errorsOf(CreateRoomDto, { ...valid, queueing_method: ok })).toEqual({});
    for (const bad of ['FIFO', 'lifo', '', 1, null]) {
      expect(await errorsOf(CreateRoomDto, { ...valid, queueing_method: bad })).toEqual({
        queueing_method: ['queueing_method must be one of fifo, passthrough, reject'],
      });
    }
  });

  it.each(['queue_all', 'suspended'])('takes %s as a boolean only', async (field) => {
    expect(await errorsOf(CreateRoomDto, { ...valid, [field]: false })).toEqual({});
    for (const bad of ['true', 1, null]) expect(Object.keys(await errorsOf(CreateRoomDto, { ...valid, [field]: bad }))).toEqual([field]);
  });

  it('takes a name of 1 to 100 printable characters', async () => {
    expect(await errorsOf(CreateRoomDto, { ...valid, name: 'Spring sale 🌷' })).toEqual({});
    for (const bad of ['', '   ', 'x'.repeat(101), 'a\nb', 5]) {
      expect(Object.keys(await errorsOf(CreateRoomDto, { ...valid, name: bad }))).toEqual(['name']);
    }
  });

  it('takes a message of at most 500 characters, or null', async () => {
    expect(await errorsOf(CreateRoomDto, { ...valid, message: null })).toEqual({});
    expect(Object.keys(await errorsOf(CreateRoomDto, { ...valid, message: 'x'.repeat(501) }))).toEqual(['message']);
    expect(Object.keys(await errorsOf(CreateRoomDto, { ...valid, message: 5 }))).toEqual(['message']);
  });

  it('refuses unknown properties, naming them', async () => {
    const errors = await errorsOf(CreateRoomDto, { ...valid, session_duration: 300 });
    expect(errors).toEqual({ session_duration: ['property session_duration should not exist'] });
  });

  it('names every bad field at once', async () => {
    const errors = await errorsOf(CreateRoomDto, {
      id: 'Bad Id',
      origin_url: 'nope',
      paths: ['/a*b'],
      total_active_users: 0,
      queueing_method: 'lifo',
    });
    expect(Object.keys(errors).sort()).toEqual(['id', 'origin_url', 'paths', 'queueing_method', 'total_active_users']);
  });
});

describe('UpdateRoomDto', () => {
  it('accepts any one field, and an empty body (the service refuses it)', async () => {
    expect(await errorsOf(UpdateRoomDto, { total_active_users: 5000 })).toEqual({});
    expect(await errorsOf(UpdateRoomDto, { queue_all: true })).toEqual({});
    expect(await errorsOf(UpdateRoomDto, { message: null })).toEqual({});
    expect(await errorsOf(UpdateRoomDto, {})).toEqual({});
  });

  it('validates like create', async () => {
    const errors = await errorsOf(UpdateRoomDto, { origin_url: '/relative', paths: ['/a*b'], total_active_users: 1.5, suspended: 'no' });
    expect(Object.keys(errors).sort()).toEqual(['origin_url', 'paths', 'suspended', 'total_active_users']);
  });

  it('refuses null for a setting (only message may be cleared)', async () => {
    for (const field of ['name', 'origin_url', 'paths', 'total_active_users', 'queueing_method', 'queue_all', 'max_wait_seconds']) {
      expect(Object.keys(await errorsOf(UpdateRoomDto, { [field]: null }))).toEqual([field]);
    }
  });

  it('refuses a change of id', async () => {
    expect(await errorsOf(UpdateRoomDto, { id: 'other' })).toEqual({ id: ['property id should not exist'] });
  });

  it('tells which fields a body sets', () => {
    expect(fieldsSet(plainToInstance(UpdateRoomDto, {}))).toEqual([]);
    expect(fieldsSet(plainToInstance(UpdateRoomDto, { queue_all: false, message: null, total_active_users: 5 }))).toEqual([
      'total_active_users',
      'queue_all',
      'message',
    ]);
  });
});
