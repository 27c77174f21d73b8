import { deviceIdOf, MALFORMED_DEVICE_ID } from './device-id';

describe('deviceIdOf', () => {
  it('takes 8 to 128 letters, digits, _ and -', () => {
    for (const id of ['abcdefgh', '123e4567-e89b-12d3-a456-426614174000', 'A_b-C_d-', 'x'.repeat(128)]) {
      expect(deviceIdOf({ 'x-device-id': id })).toEqual({ kind: 'valid', id });
    }
  });

  it('treats an absent or empty header as none', () => {
    expect(deviceIdOf({})).toEqual({ kind: 'none' });
    expect(deviceIdOf({ 'x-device-id': '' })).toEqual({ kind: 'none' });
  });

  it('calls anything else malformed, naming the header and the format', () => {
    for (const bad of ['short', 'x'.repeat(129), 'has space', 'semi;colon', 'dev-1,dev-2', 'ünïcode-id']) {
      expect(deviceIdOf({ 'x-device-id': bad })).toEqual({ kind: 'malformed', message: MALFORMED_DEVICE_ID });
    }
    expect(deviceIdOf({ 'x-device-id': ['abcdefgh', 'abcdefgh'] }).kind).toBe('malformed');
    expect(MALFORMED_DEVICE_ID).toMatch(/X-Device-Id.*8 to 128/);
  });
});
