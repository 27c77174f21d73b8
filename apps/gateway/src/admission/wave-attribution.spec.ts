import type { FastifyRequest } from 'fastify';
import { presentationOf, presenterOf } from './wave-attribution';

const request = (headers: Record<string, string>, query: Record<string, unknown> = {}) => ({ headers, query }) as unknown as FastifyRequest;

describe('the wave ticket a request presents', () => {
  it('is read from the header, else the cookie, else the query parameter', () => {
    expect(presentationOf(request({ 'x-wave-ticket': 'h', cookie: 'tg_wave=c' }, { tg_wave: 'q' })).waveTicket).toBe('h');
    expect(presentationOf(request({ cookie: 'a=1; tg_wave=c' }, { tg_wave: 'q' })).waveTicket).toBe('c');
    expect(presentationOf(request({}, { tg_wave: 'q' })).waveTicket).toBe('q');
    expect(presentationOf(request({}, { tg_wave: ['q', 'r'] })).waveTicket).toBeUndefined();
    expect(presentationOf(request({ 'x-wave-ticket': '' })).waveTicket).toBeUndefined();
  });

  it('carries a valid X-Device-Id only, as a digest that never shows the id', () => {
    expect(presentationOf(request({ 'x-device-id': 'install-0123456789' })).deviceId).toBe('install-0123456789');
    expect(presentationOf(request({ 'x-device-id': 'bad id!' })).deviceId).toBeUndefined();
    expect(presenterOf('install-0123456789')).toMatch(/^[0-9a-f]{16}$/);
    expect(presenterOf('install-0123456789')).not.toBe(presenterOf('install-0123456780'));
    expect(presenterOf(undefined)).toBe('');
  });
});
