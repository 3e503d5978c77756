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

    // Take her straight to what needs fixing.
    var summary = document.querySelector('.error-summary');
    if (summary) { summary.focus(); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
})();
