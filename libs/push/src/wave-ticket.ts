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
import { randomBytes } from 'node:crypto';
import { WAVE_TICKET_MAX_LENGTH, WAVE_TICKET_PARAM } from '@tidegate/contracts';
import type { ContentOverride, NotificationPayload } from './payload';
import type { PushMessage } from './types';

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

/*
 * Ticket slots. A batch's messages share the campaign's payload and differ only by their tickets, so a provider
 * resolves, checks and writes the payload once, stamped with TICKET_SLOT instead of a ticket, and each message's text
 * is that text with the slot replaced by its ticket (`fillTicket`): the same text as `withWaveTicket(payload, ticket)`
 * written on its own (wave-ticket.spec.ts checks it for every provider), without a copy of the payload, a resolution
 * and a JSON text per message. Exact because a slot ticket (`isSlotTicket`) needs no escaping in JSON or a URL, as
 * the slot itself, and the slot is as long as the longest ticket, so a size check passed with it passes with any
 * ticket. The slot is random per process: no payload holds it. Another ticket is stamped into a copy of its own.
 */

/** Stands for the ticket in a provider's cached text: WAVE_TICKET_MAX_LENGTH random letters and digits. */
export const TICKET_SLOT = randomBytes(WAVE_TICKET_MAX_LENGTH)
  .toString('base64')
  .replace(/[^A-Za-z0-9]/g, '0')
  .slice(0, WAVE_TICKET_MAX_LENGTH);

const SLOT_TICKET = new RegExp(`^[A-Za-z0-9._-]{1,${WAVE_TICKET_MAX_LENGTH}}$`);

/** Whether `ticket` can take the slot's place in a text (letters, digits, `._-`, at most the longest ticket's length). */
export function isSlotTicket(ticket: string): boolean {
  return SLOT_TICKET.test(ticket);
}

/** `text` (written from `slotted(message)`'s payload) with the message's ticket in every slot. */
export function fillTicket(text: string, message: PushMessage): string {
  return message.ticket === undefined ? text : text.replaceAll(TICKET_SLOT, message.ticket);
}

const stampers = new WeakMap<NotificationPayload, (ticket: string) => NotificationPayload>();
const slottedPayloads = new WeakMap<NotificationPayload, NotificationPayload>();

/**
 * The payload a provider writes for `message`: its payload as it is (no ticket), the payload stamped with the slot
 * (one object per payload: a provider's per-payload caches hold), or, for a ticket that cannot take the slot's place,
 * a copy carrying it. Its text goes through `fillTicket`.
 */
export function slotted(message: PushMessage): NotificationPayload {
  const { payload, ticket } = message;
  if (ticket === undefined) return payload;
  if (!isSlotTicket(ticket)) return messagePayload(message);
  let stamped = slottedPayloads.get(payload);
  if (stamped === undefined) slottedPayloads.set(payload, (stamped = withWaveTicket(payload, TICKET_SLOT)));
  return stamped;
}

/** The payload `message` delivers, its ticket in it, as an object (a copy when it has a ticket). */
export function messagePayload(message: PushMessage): NotificationPayload {
  const { payload, ticket } = message;
  if (ticket === undefined) return payload;
  let stamp = stampers.get(payload);
  if (stamp === undefined) stampers.set(payload, (stamp = waveTicketStamper(payload)));
  return stamp(ticket);
}
