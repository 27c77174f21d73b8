/**
 * The wave ticket in a push (libs/admission wave-tickets.ts signs it): `withWaveTicket` puts one device's ticket in
 * its copy of the campaign's payload, the same way on every platform:
 *
 * - the data map gets `tg_wave` (FCM `data`; APNs a custom top-level key, beside `aps`; Web Push the payload's
 *   `data`), overrides' data included, so no override can drop it;
 * - every deep link (the payload's and each override's) gets `tg_wave=<ticket>` appended to its query, before any
 *   `#fragment`, so an app or a browser that opens the link presents it without reading the data.
 *
 * Room for it: a ticket is at most WAVE_TICKET_MAX_LENGTH (96) characters and needs no escaping in JSON or in a URL,
 * so it adds at most WAVE_TICKET_RESERVED_BYTES to any provider's counted payload; `checkPayload` (the campaign
 * content check) refuses content that would not fit with it.
 */
import { WAVE_TICKET_MAX_LENGTH, WAVE_TICKET_PARAM } from '@tidegate/contracts';
import type { ContentOverride, NotificationPayload } from './payload';

/** `,"tg_wave":"<ticket>"` in the data map plus `?tg_wave=<ticket>` on the deep link (which also travels in the data). */
export const WAVE_TICKET_RESERVED_BYTES =
  `,"${WAVE_TICKET_PARAM}":""`.length + `?${WAVE_TICKET_PARAM}=`.length + 2 * WAVE_TICKET_MAX_LENGTH;

/** `url` with `tg_wave=<ticket>` added to its query (before a fragment). */
export function withTicketParam(url: string, ticket: string): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${WAVE_TICKET_PARAM}=${ticket}${fragment}`;
}

/** The deep link stamped; the data too for the payload itself (overrides' data merge over it, never holding the key). */
function stamp<T extends ContentOverride>(part: T, ticket: string, withData: boolean): T {
  return {
    ...part,
    ...(withData && { data: { ...part.data, [WAVE_TICKET_PARAM]: ticket } }),
    ...(part.deepLink !== undefined && { deepLink: withTicketParam(part.deepLink, ticket) }),
  };
}

/** A copy of `payload` carrying `ticket` (see above); `payload` itself is not changed. */
export function withWaveTicket(payload: NotificationPayload, ticket: string): NotificationPayload {
  const out: NotificationPayload = stamp(payload, ticket, true);
  if (payload.overrides) {
    const o = payload.overrides;
    out.overrides = {
      ...o,
      ...(o.fcm && { fcm: stamp(o.fcm, ticket, false) }),
      ...(o.apns && { apns: stamp(o.apns, ticket, false) }),
      ...(o.webpush && { webpush: stamp(o.webpush, ticket, false) }),
    };
  }
  return out;
}
