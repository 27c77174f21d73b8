/**
 * The waiting page's client. It checks in once with the room's status endpoint (the ticket travels in its
 * HttpOnly cookie; the answer tells the ticket, the socket URL and the check-in interval), then follows its place
 * live over socket.io. If WebSockets are blocked (or the ws app is unreachable) it falls back to polling the status
 * endpoint. When admitted, one more status call sets the admission cookie and the page reloads into the origin.
 * No external CDN or font: socket.io's client is served by the gateway itself.
 */
export const WAITING_ROOM_JS = `(function () {
  'use strict';
  var room = document.body.getAttribute('data-room');
  var statusUrl = '/rooms/' + encodeURIComponent(room) + '/status';
  var el = function (id) { return document.getElementById(id); };
  var firstPosition = null;
  var best = Infinity;
  var ticket = null;
  var polling = false;
  var done = false;

  /** A new ticket (the old one lapsed and the user joined again at the end): its places start afresh. */
  function follow(data) {
    if (data.ticket === ticket) return;
    ticket = data.ticket;
    best = Infinity;
    firstPosition = null;
  }

  function render(position, etaSeconds) {
    if (position > best) return; // a place never goes back (for the same ticket)
    best = position;
    if (firstPosition === null) firstPosition = position;
    el('position-number').textContent = '#' + position;
    el('position').hidden = false;
    el('status').textContent = position === 1 ? 'You are next.' : (position - 1) + (position === 2 ? ' person is' : ' people are') + ' ahead of you.';
    if (etaSeconds !== null && etaSeconds !== undefined) {
      var minutes = Math.max(1, Math.ceil(etaSeconds / 60));
      el('wait-time').textContent = minutes === 1 ? 'about a minute' : 'about ' + minutes + ' minutes';
      el('wait').hidden = false;
    }
    el('progress').value = firstPosition > 1 ? Math.round(100 * (firstPosition - position) / (firstPosition - 1)) : 100;
  }

  function enter() {
    if (done) return;
    done = true;
    el('status').textContent = 'It is your turn. Taking you in…';
    // The status call sets the admission cookie; then the page the user asked for loads through the gate.
    fetch(statusUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .catch(function () {})
      .then(function () { window.location.reload(); });
  }

  function checkIn() {
    return fetch(statusUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }).then(function (r) {
      if (r.status === 400) { window.location.reload(); return null; } // no ticket any more: join again
      return r.json();
    });
  }

  function poll() {
    polling = true;
    checkIn()
      .then(function (data) {
        if (!data) return;
        if (!data.inWaitingRoom) return enter();
        follow(data);
        render(data.position, data.waitTimeKnown ? data.waitTime * 60 : null);
        setTimeout(poll, Math.max(1, data.refreshIntervalSeconds) * 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }

  function live(data) {
    // Give up on the socket well within the grace period, so a blocked or silent WebSocket never costs the place.
    var timeout = Math.min(5000, Math.max(1000, data.refreshIntervalSeconds * 1000));
    var socket = window.io(data.socketUrl, { auth: { ticket: data.ticket, room: room }, transports: ['websocket'], reconnectionAttempts: 3, timeout: timeout });
    var fallback = setTimeout(function () { if (!socket.connected && !polling) { socket.close(); poll(); } }, timeout + 500);
    socket.on('connect', function () { clearTimeout(fallback); });
    socket.on('disconnect', function (why) {
      if (done || why === 'io client disconnect') return;
      if (!polling) poll(); // keep checking in while the socket is away; a reconnect takes over again
    });
    socket.on('position.v1', function (u) { render(u.position, u.etaSeconds); });
    socket.on('admitted.v1', function () { socket.close(); enter(); });
    socket.on('ticketExpired.v1', function () { socket.close(); window.location.reload(); });
    socket.on('roomPaused.v1', function (info) { el('status').textContent = info && info.reason === 'suspended' ? 'This room is closed for now. You keep your place.' : 'The line is paused for a moment. You keep your place.'; });
    socket.on('roomResumed.v1', function () { if (best !== Infinity) { var b = best; best = Infinity; render(b, null); } });
    socket.on('connect_error', function (err) {
      var reason = err && err.data && err.data.reason;
      if (reason === 'ticket_expired') { socket.close(); window.location.reload(); return; }
      if (!polling) { socket.close(); poll(); } // WebSockets blocked or the ws app unreachable
    });
  }

  checkIn()
    .then(function (data) {
      if (!data) return;
      if (!data.inWaitingRoom) return enter();
      follow(data);
      render(data.position, data.waitTimeKnown ? data.waitTime * 60 : null);
      if (data.socketUrl && typeof window.io === 'function') live(data);
      else setTimeout(poll, Math.max(1, data.refreshIntervalSeconds) * 1000);
    })
    .catch(function () { setTimeout(poll, 5000); });
})();
`;

export const WAITING_ROOM_CSS = `:root { color-scheme: light dark; font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; }
main { box-sizing: border-box; width: 100%; max-width: 32rem; padding: 2rem 1.25rem; text-align: center; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
#position { font-size: 1.3rem; margin: 1.5rem 0 0.25rem; }
#position strong { font-size: 3rem; display: block; line-height: 1.2; }
progress { width: 100%; height: 0.75rem; margin-top: 1.5rem; }
.message { opacity: 0.85; }
`;
