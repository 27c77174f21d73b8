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

/** `url` split around where a ticket goes: `tg_wave=<ticket>` added to its query, before a fragment. */
function ticketParamAround(url: string): { before: string; after: string } {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return { before: `${base}${separator}${WAVE_TICKET_PARAM}=`, after: fragment };
}

/** `url` with `tg_wave=<ticket>` added to its query (before a fragment). */
export function withTicketParam(url: string, ticket: string): string {
  const { before, after } = ticketParamAround(url);
  return before + ticket + after;
}

/**
 * A maker of shallow copies of `source`, the same own keys in the same order as `{ ...source }`. A copy is made per
 * recipient, and V8 makes it with `Object.assign` about six times faster than with a spread here (0.06 against 0.35
 * µs for a part and its data in a loop); an own key `__proto__` (JSON.parse makes one), which `Object.assign` would
 * hand to the prototype's setter, is copied by a spread instead.
 */
function copier<T extends object>(source: T): () => T {
  if (Object.hasOwn(source, '__proto__')) return () => ({ ...source });
  return () => Object.assign({}, source);
}

/**
 * One part (the payload, or an override) stamped with a ticket: its deep link, and its data for the payload itself
 * (overrides' data merge over it, never holding the key). The link is split once, when the stamper is made.
 */
function partStamper<T extends ContentOverride>(part: T, withData: boolean): (ticket: string) => T {
  const link = part.deepLink === undefined ? null : ticketParamAround(part.deepLink);
  const data = part.data;
  const copyPart = copier(part);
  const copyData = copier(data ?? {});
  return (ticket) => {
    const out = copyPart();
    if (withData) {
      const copy = copyData();
      copy[WAVE_TICKET_PARAM] = ticket;
      out.data = copy;
    }
    if (link) out.deepLink = link.before + ticket + link.after;
    return out;
  };
}

/**
 * `withWaveTicket` for one payload and many tickets (a batch): what does not depend on the ticket (where it goes in
 * each deep link) is worked out once; each call returns a new copy, `payload` itself is not changed.
 */
export function waveTicketStamper(payload: NotificationPayload): (ticket: string) => NotificationPayload {
  const main = partStamper(payload, true);
  const o = payload.overrides;
  if (!o) return main;
  const fcm = o.fcm && partStamper(o.fcm, false);
  const apns = o.apns && partStamper(o.apns, false);
  const webpush = o.webpush && partStamper(o.webpush, false);
  const copyOverrides = copier(o);
  return (ticket) => {
    const out = main(ticket);
    const overrides = copyOverrides();
    if (fcm) overrides.fcm = fcm(ticket);
    if (apns) overrides.apns = apns(ticket);
    if (webpush) overrides.webpush = webpush(ticket);
    out.overrides = overrides;
    return out;
  };
}

/** A copy of `payload` carrying `ticket` (see above); `payload` itself is not changed. */
export function withWaveTicket(payload: NotificationPayload, ticket: string): NotificationPayload {
  return waveTicketStamper(payload)(ticket);
}
