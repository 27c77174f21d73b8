import { databaseUnavailable, dataException } from './database-errors';

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

describe('databaseUnavailable: which database errors mean PostgreSQL cannot be reached', () => {
  it('finds a refused, lost or timed-out connection as the driver adapter reports it', () => {
    for (const kind of ['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']) {
      expect(databaseUnavailable({ meta: { driverAdapterError: { cause: { kind } } } })).toBe(true);
      expect(databaseUnavailable(Object.assign(new Error('x'), { cause: { kind } }))).toBe(true);
    }
  });

  it("finds pg's own errors, Node's socket errors and Prisma's connection codes, also when wrapped", () => {
    expect(databaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(databaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(databaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(databaseUnavailable(Object.assign(new Error("Can't reach database server"), { code: 'P1001' }))).toBe(true);
    expect(databaseUnavailable(Object.assign(new Error('x'), { name: 'PrismaClientInitializationError' }))).toBe(true);
    expect(databaseUnavailable(new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET' }) }))).toBe(true);
  });

  it('finds a server shutting down or starting (SQLSTATE 57P01-57P03, class 08)', () => {
    expect(databaseUnavailable({ cause: { originalCode: '57P01' } })).toBe(true);
    expect(databaseUnavailable({ code: '57P03', message: 'the database system is starting up' })).toBe(true);
    expect(databaseUnavailable({ cause: { originalCode: '08006' } })).toBe(true);
  });

  it('leaves the caller’s mistakes and other failures alone', () => {
    expect(databaseUnavailable({ meta: { driverAdapterError: { cause: { originalCode: '22003', kind: 'ValueOutOfRange' } } } })).toBe(
      false,
    );
    expect(
      databaseUnavailable({ meta: { driverAdapterError: { cause: { originalCode: '23505', kind: 'UniqueConstraintViolation' } } } }),
    ).toBe(false);
    expect(databaseUnavailable(new Error('boom'))).toBe(false);
    expect(databaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(databaseUnavailable(null)).toBe(false);
  });
});
