/**
 * WaveTicketThreads on real worker threads: the tickets are exactly the signer's, each request gets its own, a bad id
 * or a dying thread fails only its request, and close stops the threads. The thread runs the compiled script under
 * dist/ (the integration tier's global setup builds it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WaveTicketSigner, type WaveTicketBatch } from './wave-tickets';
import { WaveTicketThreads, waveTicketThreadScript } from './wave-ticket-threads';

const SECRET = 'wave-ticket-threads-secret-0123456789';
const NOW = 1_780_000_000;
const shared = (wave: number): WaveTicketBatch => ({
  campaignId: '0b5f3a7e-9c1d-4e2f-8a6b-3c4d5e6f7a8b',
  wave,
  sentAt: NOW,
  expiresAt: NOW + 86_400,
});
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => String(from + i * 12));
const inline = (batch: WaveTicketBatch, deviceIds: string[]) => deviceIds.map(new WaveTicketSigner(SECRET).batch(batch));

describe('WaveTicketThreads', () => {
  const pools: WaveTicketThreads[] = [];
  const pool = (threads: number, options?: { script?: string; timeoutMs?: number }) => {
    const p = new WaveTicketThreads(SECRET, threads, options);
    pools.push(p);
    return p;
  };
  /** A thread script in a temporary directory: `before` runs ahead of the real thread's script. */
  const scripts: string[] = [];
  const threadScript = (before: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wave-thread-'));
    const script = path.join(dir, 'thread.js');
    fs.writeFileSync(
      script,
      `const { parentPort } = require('node:worker_threads');\n${before}\nrequire(${JSON.stringify(waveTicketThreadScript())});`,
    );
    scripts.push(dir);
    return script;
  };
  afterAll(() => {
    for (const dir of scripts) fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it.each([0, 1, 2])('with %i threads signs exactly the tickets the signer signs, in the ids order, and they verify', async (threads) => {
    const deviceIds = ids(500, 9_000_001);
    const tickets = await pool(threads).sign(shared(7), deviceIds);
    expect(tickets).toEqual(inline(shared(7), deviceIds));
    const verifier = new WaveTicketSigner(SECRET);
    expect(tickets.map((t) => verifier.verify(t, NOW + 1)?.deviceId)).toEqual(deviceIds);
  });

  it('answers many concurrent batches on two threads, each with its own tickets', async () => {
    const p = pool(2);
    const batches = Array.from({ length: 40 }, (_, i) => ({ batch: shared(i + 1), deviceIds: ids(1 + ((i * 37) % 500), i * 1000 + 1) }));
    const results = await Promise.all(batches.map((b) => p.sign(b.batch, b.deviceIds)));
    results.forEach((tickets, i) => {
      const b = batches[i] as (typeof batches)[number];
      expect(tickets).toEqual(inline(b.batch, b.deviceIds));
    });
  });

  it('fails a batch with an id no ticket can carry, as the signer does, and signs the next one', async () => {
    const p = pool(1);
    await expect(p.sign(shared(1), ['12', 'abc'])).rejects.toThrow('wave ticket: device id "abc" is not a positive integer');
    await expect(p.sign(shared(1), ['12', '3,4'])).rejects.toThrow('an id is not a positive integer');
    await expect(p.sign({ ...shared(1), wave: 0 }, ['12'])).rejects.toThrow('wave ticket: wave 0 is out of range');
    expect(await p.sign(shared(1), ['12'])).toEqual(inline(shared(1), ['12']));
  });

  it('a thread that dies fails only the batches it held; the next batch gets a new thread', async () => {
    // The real thread, except that a batch holding device 666 kills it.
    const p = pool(1, {
      script: threadScript(`parentPort.on('message', (r) => { if (r.ids.split(',').includes('666')) process.exit(3); });`),
    });
    const dying = p.sign(shared(2), ['666']);
    await expect(dying).rejects.toThrow('the wave ticket thread stopped (exit code 3)');
    expect(await p.sign(shared(2), ['5', '17'])).toEqual(inline(shared(2), ['5', '17']));
  });

  it('a thread that leaves a batch unanswered is stopped after the timeout; its batches fail, the next gets a new thread', async () => {
    // The real thread, except that a batch holding device 777 spins forever (a thread stuck, not dead).
    const p = pool(1, {
      script: threadScript(`parentPort.on('message', (r) => { if (r.ids.split(',').includes('777')) for (;;) {} });`),
      timeoutMs: 300,
    });
    const stuck = p.sign(shared(2), ['777']);
    const behind = p.sign(shared(2), ['8']);
    await expect(stuck).rejects.toThrow('the wave ticket thread did not answer within 300 ms');
    await expect(behind).rejects.toThrow('the wave ticket thread did not answer within 300 ms');
    expect(await p.sign(shared(2), ['5', '17'])).toEqual(inline(shared(2), ['5', '17']));
  });

  it('close fails what is in flight and refuses what comes after', async () => {
    const p = pool(1);
    const inFlight = expect(p.sign(shared(3), ids(500))).rejects.toThrow('the wave ticket threads were closed');
    await p.close();
    await inFlight;
    await expect(p.sign(shared(3), ['1'])).rejects.toThrow('the wave ticket threads are closed');
  });

  it('refuses a thread count out of range and a short secret', () => {
    expect(() => new WaveTicketThreads(SECRET, -1)).toThrow('wave ticket threads must be a whole number from 0 to 16, got -1');
    expect(() => new WaveTicketThreads(SECRET, 17)).toThrow('from 0 to 16');
    expect(() => new WaveTicketThreads(SECRET, 1.5)).toThrow('got 1.5');
    expect(() => new WaveTicketThreads('short', 0)).toThrow('at least 32 characters');
  });
});
