/**
 * The waiting page's client: checks in with the room's status endpoint (the ticket travels in its cookie),
 * shows the place in line, and goes on to the page the user asked for once admitted (the token cookie is set by
 * that response). Live updates over socket.io come with the ws app; this polling is also the fallback when
 * WebSockets are blocked.
 */
export const WAITING_ROOM_JS = `(function () {
  'use strict';
  var room = document.body.getAttribute('data-room');
  var statusEl = document.getElementById('status');
  var positionEl = document.getElementById('position');
  var numberEl = document.getElementById('position-number');
  var waitEl = document.getElementById('wait');
  var waitTimeEl = document.getElementById('wait-time');
  var progressEl = document.getElementById('progress');
  var firstPosition = null;
  var best = Infinity;

  function show(data) {
    if (!data.inWaitingRoom) {
      statusEl.textContent = 'It is your turn. Taking you in…';
      window.location.reload();
      return;
    }
    var position = Math.min(best, data.position);
    best = position;
    if (firstPosition === null) firstPosition = position;
    numberEl.textContent = '#' + position;
    positionEl.hidden = false;
    statusEl.textContent = position === 1 ? 'You are next.' : (position - 1) + ' people are ahead of you.';
    if (data.waitTimeKnown) {
      waitTimeEl.textContent = data.waitTime + (data.waitTime === 1 ? ' minute' : ' minutes');
      waitEl.hidden = false;
    }
    progressEl.value = firstPosition > 1 ? Math.round(100 * (firstPosition - position) / (firstPosition - 1)) : 100;
    setTimeout(check, Math.max(1, data.refreshIntervalSeconds) * 1000);
  }

  function check() {
    fetch('/rooms/' + encodeURIComponent(room) + '/status', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(show)
      .catch(function () { setTimeout(check, 5000); });
  }

  check();
})();
`;

export const WAITING_ROOM_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; }
main { max-width: 32rem; padding: 2rem 1.5rem; text-align: center; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
#position { font-size: 1.4rem; }
#position strong { font-size: 2.4rem; display: block; }
progress { width: 100%; height: 0.75rem; margin-top: 1.5rem; }
.message { opacity: 0.85; }
`;
