import { jsonNestsDeeperThan } from './json-depth';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('jsonNestsDeeperThan', () => {
  it('counts objects and arrays alike', () => {
    expect(jsonNestsDeeperThan('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(jsonNestsDeeperThan(nested(64), 64)).toBe(false);
    expect(jsonNestsDeeperThan(nested(65), 64)).toBe(true);
    expect(jsonNestsDeeperThan(Buffer.from(nested(3000)), 64)).toBe(true);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ name: '[[[[{{{{"\\'.repeat(100) });
    expect(jsonNestsDeeperThan(text, 1)).toBe(false);
  });

  it('measures depth, not the number of brackets', () => {
    expect(jsonNestsDeeperThan(JSON.stringify(Array.from({ length: 1000 }, () => [[1]])), 3)).toBe(false);
  });

  it('reads UTF-8 bytes exactly (multi-byte characters next to brackets)', () => {
    expect(jsonNestsDeeperThan(Buffer.from('[["é€😀", {"ü": ["ß"]}]]'), 4)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from('[["é€😀", {"ü": ["ß"]}]]'), 3)).toBe(true);
  });
});
