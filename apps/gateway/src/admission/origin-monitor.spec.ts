import { originErrorKind } from './origin-monitor';

/** An error as reply-from or node:http reports it: a code, maybe a cause with the socket's code. */
const error = (code?: string, cause?: { code: string }) => Object.assign(new Error('failed'), { code, cause });

describe('originErrorKind', () => {
  it('tells refused, reset and timed-out connections apart, from the error or its cause', () => {
    expect(originErrorKind(error('FST_REPLY_FROM_INTERNAL_SERVER_ERROR', { code: 'ECONNREFUSED' }))).toBe('refused');
    expect(originErrorKind(error('ECONNREFUSED'))).toBe('refused');
    expect(originErrorKind(error('ECONNRESET'))).toBe('reset');
    expect(originErrorKind(error('UND_ERR_SOCKET'))).toBe('reset');
    expect(originErrorKind(error('FST_REPLY_FROM_GATEWAY_TIMEOUT', { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe('timeout');
    expect(originErrorKind(error('UND_ERR_CONNECT_TIMEOUT'))).toBe('timeout');
  });

  it('calls anything else other', () => {
    expect(originErrorKind(error('FST_REPLY_FROM_BAD_GATEWAY'))).toBe('other');
    expect(originErrorKind(new Error('no code'))).toBe('other');
    expect(originErrorKind('a string')).toBe('other');
  });
});
