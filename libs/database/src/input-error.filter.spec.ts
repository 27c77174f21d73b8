import { dataException } from './input-error.filter';

describe('dataException: which database errors are the caller’s bad value', () => {
  it('finds a class-22 error reported by the driver adapter (a NUL byte in text)', () => {
    const err = Object.assign(new Error('x'), {
      cause: { originalCode: '22021', originalMessage: 'invalid byte sequence for encoding "UTF8": 0x00' },
    });
    expect(dataException(err)).toEqual({ code: '22021', message: 'invalid byte sequence for encoding "UTF8": 0x00' });
  });

  it('finds one wrapped by Prisma (a number out of range)', () => {
    const err = {
      meta: { driverAdapterError: { cause: { originalCode: '22003', originalMessage: 'value "9" is out of range for type bigint' } } },
    };
    expect(dataException(err)?.code).toBe('22003');
  });

  it('leaves everything else to the usual handling (a unique violation, a lost connection, not an error at all)', () => {
    expect(dataException({ meta: { driverAdapterError: { cause: { originalCode: '23505' } } } })).toBeNull();
    expect(dataException(new Error('ECONNREFUSED'))).toBeNull();
    expect(dataException('boom')).toBeNull();
    expect(dataException(null)).toBeNull();
  });
});
