/** What every Tidegate HTTP app (scheduler, gateway, ws) does with request bodies, through createHttpApp. */
import { Body, Controller, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loggingModule } from '@tidegate/observability';
import { createHttpApp } from './http-app';
import { MAX_JSON_DEPTH } from './json-depth';

@Controller('echo')
class EchoController {
  @Post() echo(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({ imports: [loggingModule({ app: 'test', level: 'silent', requests: false })], controllers: [EchoController] })
class EchoModule {}

const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('createHttpApp: JSON bodies', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createHttpApp(EchoModule, { bootLogs: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  const post = (payload: string) => app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });

  it(`answers 400 naming the limit for JSON nested deeper than ${MAX_JSON_DEPTH} levels`, async () => {
    for (const body of [nested(3000), '['.repeat(3000) + ']'.repeat(3000), nested(MAX_JSON_DEPTH + 1)]) {
      const res = await post(body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, message: `JSON body nested deeper than ${MAX_JSON_DEPTH} levels` });
    }
  });

  it('parses JSON up to the limit as before, and still refuses malformed JSON and __proto__ with 400', async () => {
    const ok = await post(nested(MAX_JSON_DEPTH));
    expect(ok.statusCode).toBe(201);
    expect(JSON.stringify(ok.json())).toBe(nested(MAX_JSON_DEPTH));
    expect((await post('{"a":')).statusCode).toBe(400);
    expect((await post('{"__proto__":{"x":1}}')).statusCode).toBe(400);
  });
});
