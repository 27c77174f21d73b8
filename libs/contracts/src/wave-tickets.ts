/**
 * Wave tickets: how a push's signed ticket travels (libs/admission/src/wave-tickets.ts has the format). The names are
 * a contract between the scheduler (which puts the ticket in every push), the apps (which present it) and the gateway
 * (which reads it): renaming one breaks every app already installed.
 */

/** The data key (FCM `data`, an APNs top-level key, the Web Push payload's `data`) and the deep link's query parameter. */
export const WAVE_TICKET_PARAM = 'tg_wave';
/** The request header an app presents the ticket in. */
export const WAVE_TICKET_HEADER = 'x-wave-ticket';
/** The cookie a web page presents the ticket in. */
export const WAVE_TICKET_COOKIE = 'tg_wave';
/** No ticket is longer (bytes, ASCII): payload size checks leave this much room for it. */
export const WAVE_TICKET_MAX_LENGTH = 96;
