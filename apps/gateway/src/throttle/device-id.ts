/**
 * The `X-Device-Id` header: an app's own id for the device, so the throttle counts each device on its own instead of
 * everyone behind one IP together. Its format is 8 to 128 characters, each a letter, a digit, `_` or `-` (a UUID
 * fits). Absent or empty means none; anything else is refused with 400, never silently ignored.
 */
export const DEVICE_ID_HEADER = 'x-device-id';
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export const MALFORMED_DEVICE_ID =
  'X-Device-Id must be 8 to 128 characters, each a letter, a digit, "_" or "-" (a UUID fits); leave the header out if there is no device id';

export type DeviceId = { kind: 'none' } | { kind: 'valid'; id: string } | { kind: 'malformed'; message: string };

export function deviceIdOf(headers: Record<string, string | string[] | undefined>): DeviceId {
  const value = headers[DEVICE_ID_HEADER];
  if (value === undefined || value === '') return { kind: 'none' };
  if (typeof value === 'string' && DEVICE_ID_PATTERN.test(value)) return { kind: 'valid', id: value };
  return { kind: 'malformed', message: MALFORMED_DEVICE_ID };
}
