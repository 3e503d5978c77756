// Aftercare: small enhancements. Every page works without this script.
(function () {
  'use strict';

  function ready() {
    // Print buttons are hidden without a script.
    document.querySelectorAll('[data-print]').forEach(function (b) {
      b.hidden = false;
      b.addEventListener('click', function () { window.print(); });
    });

    // Sources in <details> belong on the printed handout.
    var opened = [];
    window.addEventListener('beforeprint', function () {
      document.querySelectorAll('details:not([open])').forEach(function (d) {
        d.open = true;
        opened.push(d);
      });
    });
    window.addEventListener('afterprint', function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });

    // One submission per click on a slow connection.
    document.querySelectorAll('form').forEach(function (f) {
      f.addEventListener('submit', function (e) {
        if (f.getAttribute('data-sent')) { e.preventDefault(); return; }
        f.setAttribute('data-sent', '1');
        setTimeout(function () { f.removeAttribute('data-sent'); }, 4000);
      });
    });

    // The chat: new messages arrive over server-sent events. Text only, never markup.
    document.querySelectorAll('[data-chat-stream]').forEach(followChat);
    // The diary's button names the day it saves, following the date box.
    var saveFor = document.querySelector('[data-save-for]');
    var dayBox = document.getElementById('day');
    if (saveFor && dayBox) {
      dayBox.addEventListener('change', function () {
        var d = new Date(dayBox.value + 'T12:00:00');
        if (isNaN(d.getTime())) { return; }
        var label = d.toLocaleDateString(document.documentElement.lang || undefined,
          { weekday: 'long', day: 'numeric', month: 'long' });
        saveFor.textContent = saveFor.getAttribute('data-save-for').replace('{date}', label);
      });
    }
    var board = document.querySelector('[data-board-stream]');
    if (board) { followBoard(board); }

    checkinScreen();

    // Take her straight to what needs fixing.
    var summary = document.querySelector('.error-summary');
    if (summary) { summary.focus(); }
  }

  // The check-in: the browser's time zone for a day and time she gives; a question that
  // follows another's answer appears only once that answer opens it; "None of these" and the
  // signs of its checklist untick each other. Without a script every question shows and the
  // server reads the answers the same way.
  function checkinScreen() {
    document.querySelectorAll('input[data-tz]').forEach(function (i) {
      i.value = String(new Date().getTimezoneOffset());
    });
    document.querySelectorAll('[data-follows]').forEach(function (box) {
      var opens = (box.getAttribute('data-when') || '').split(' ');
      var gates = [];
      box.getAttribute('data-follows').split(' ').forEach(function (name) {
        document.querySelectorAll('input[name="' + name + '"]').forEach(function (g) { gates.push(g); });
      });
      function update() {
        box.hidden = !gates.some(function (g) { return g.checked && opens.indexOf(g.name + '=' + g.value) >= 0; });
      }
      gates.forEach(function (g) { g.addEventListener('change', update); });
      update();
    });
    document.querySelectorAll('input[data-none]').forEach(function (none) {
      var group = none.getAttribute('data-none');
      var signs = document.querySelectorAll('input[data-sign="' + group + '"]');
      none.addEventListener('change', function () {
        if (none.checked) { signs.forEach(function (s) { s.checked = false; }); }
      });
      signs.forEach(function (s) {
        s.addEventListener('change', function () { if (s.checked) { none.checked = false; } });
      });
    });
  }

  function followChat(log) {
    if (!window.EventSource) { return; }
    var empty = document.querySelector('.chat-empty');
    var source = new EventSource(log.getAttribute('data-chat-stream'));
    source.addEventListener('message', function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (log.querySelector('[data-id="' + Number(m.id) + '"]')) { return; }
      var li = document.createElement('li');
      var sender = m.sender === 'staff' ? 'staff' : 'patient';
      li.className = 'msg msg-' + sender;
      li.setAttribute('data-id', String(Number(m.id)));
      var who = document.createElement('span');
      who.className = 'who';
      who.textContent = (sender === 'staff' && m.author) || log.getAttribute('data-label-' + sender) || sender;
      var time = document.createElement('time');
      time.textContent = m.time || '';
      var body = document.createElement('p');
      body.textContent = m.body;
      li.appendChild(who);
      li.appendChild(document.createTextNode(' '));
      li.appendChild(time);
      li.appendChild(body);
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
      if (empty) { empty.hidden = true; }
    });
  }

  // The board fetches itself again when the server says what waits has changed, and swaps
  // in the new list and menu counts (server-rendered and escaped; nothing is built from the
  // event's data). The stream stays open across swaps: it lives outside what is replaced.
  function followBoard(el) {
    if (!window.EventSource || !window.fetch || !window.DOMParser) { return; }
    var source = new EventSource(el.getAttribute('data-board-stream'));
    source.addEventListener('board', function () {
      fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var fresh = doc.querySelector('[data-board]');
          var current = document.querySelector('[data-board]');
          if (!fresh || !current) { return; }
          var table = fresh.querySelector('table');
          var old = current.querySelector('table');
          if (table && old) { old.replaceWith(document.importNode(table, true)); }
          document.querySelectorAll('.staff-nav [data-count]').forEach(function (c) {
            var n = doc.querySelector('.staff-nav [data-count="' + c.getAttribute('data-count') + '"]');
            if (n) { c.replaceWith(document.importNode(n, true)); }
          });
          var status = document.getElementById('board-status');
          if (status) {
            var words = status.getAttribute('data-updated') || 'List updated at {time}.';
            status.textContent = words.replace('{time}', new Date().toLocaleTimeString(document.documentElement.lang || undefined));
          }
        })
        .catch(function () {});
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
})();
