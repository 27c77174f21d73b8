/**
 * Which database errors are not the server's fault: a value the request carried that PostgreSQL refuses (a 400), or
 * PostgreSQL being out of reach (a 503 with Retry-After). Prisma reports the driver's error as `cause`, or as
 * `meta.driverAdapterError.cause`; pg's own errors and Prisma's connection errors are looked at as they are.
 */

interface DriverCause {
  kind?: unknown;
  originalCode?: unknown;
  originalMessage?: unknown;
}

type Inspectable = {
  name?: unknown;
  code?: unknown;
  errorCode?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: { cause?: DriverCause } };
};

function driverCause(err: Inspectable): DriverCause | undefined {
  const cause = err.meta?.driverAdapterError?.cause ?? err.cause;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

/**
 * The PostgreSQL error behind a failed query when it is a data exception (SQLSTATE class 22: a value out of range
 * for its type, a NUL byte in text, a malformed number…): a value the request carried that the database refuses. Null
 * otherwise.
 */
export function dataException(err: unknown): { code: string; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const cause = driverCause(err);
  const code = cause?.originalCode;
  if (typeof code !== 'string' || !code.startsWith('22')) return null;
  return { code, message: typeof cause?.originalMessage === 'string' ? cause.originalMessage : 'invalid value' };
}

/** Kinds the driver adapter gives socket and capacity errors (adapter-pg's convertDriverError). */
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** Node's socket errors. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);
/**
 * Prisma's connection errors: P1001 can't reach the server, P1002 it timed out, P1008 an operation timed out,
 * P1017 the server closed the connection, P2024 no connection free in the pool in time.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** SQLSTATE: the server is shutting down or starting (57P01-57P03), too many connections (53300). Class 08: connection exceptions. */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** pg's own messages for a connection lost or never made. */
const LOST_CONNECTION = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i;

function unreachableHere(err: Inspectable): boolean {
  const code = typeof err.code === 'string' ? err.code : typeof err.errorCode === 'string' ? err.errorCode : undefined;
  if (code && (SOCKET_CODES.has(code) || PRISMA_CODES.has(code) || SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (err.name === 'PrismaClientInitializationError') return true;
  const cause = driverCause(err);
  if (typeof cause?.kind === 'string' && UNREACHABLE_KINDS.has(cause.kind)) return true;
  const sqlState = cause?.originalCode;
  if (typeof sqlState === 'string' && (SQLSTATES.has(sqlState) || sqlState.startsWith('08'))) return true;
  return typeof err.message === 'string' && LOST_CONNECTION.test(err.message);
}

/**
 * Whether `err` (or an error it wraps, a few levels down) says PostgreSQL cannot be reached or cannot take the query
 * now: refused or lost connections, timeouts, a server shutting down or full. Any other error is null-ish (false).
 */
export function databaseUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (unreachableHere(current)) return true;
    current = (current as Inspectable).cause;
  }
  return false;
}
