import { BAD_ENCODING_MESSAGE, DOT_SEGMENT_MESSAGE, DOTTED_SEGMENT_MESSAGE, requestPathProblem } from './request-path';

describe('requestPathProblem', () => {
  it.each([
    '/room/a/../b',
    '/room/a/..',
    '/room/./b',
    '/room/a/%2e%2e/b',
    '/room/a/%2E%2E/b',
    '/room/a/%2e./b',
    '/room/a/.%2E/b',
    '/room/a/..%2fb',
    '/room/a/..%2Fb',
    '/room/a/..\\b',
    '/room/a/..%5cb',
    '/room/a/%252e%252e/b',
    '/room/a/%25252e%25252e/b',
    '/..',
    '/room/a/../b?x=1',
  ])('refuses the dot-segment in %s', (url) => {
    expect(requestPathProblem(url)).toBe(DOT_SEGMENT_MESSAGE);
  });

  it.each(['/room/..b', '/room/a../b', '/room/%2e%2eb', '/room/...'])('refuses %s, a segment beginning or ending with ".."', (url) => {
    expect(requestPathProblem(url)).toBe(DOTTED_SEGMENT_MESSAGE);
  });

  it.each(['/room/%zz', '/room/%', '/room/%e', '/room/%ff'])('refuses the malformed percent-encoding of %s', (url) => {
    expect(requestPathProblem(url)).toBe(BAD_ENCODING_MESSAGE);
  });

  it.each([
    '/',
    '/room/a/b',
    '/room/b..c/d',
    '/room/.well-known/x',
    '/room/file.tar.gz',
    '/room/a?next=/../b&x=%zz',
    '/room/[...slug]',
    '/room/%C3%A9',
  ])('lets %s through', (url) => {
    expect(requestPathProblem(url)).toBeNull();
  });
});
