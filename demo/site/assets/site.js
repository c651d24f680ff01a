// Demo news site script: today's date, reading time, back-to-top button. No network access.
(function () {
  'use strict';

  // Arabic counts: 1 دقيقة, 2 دقيقتان, 3-10 دقائق, 11+ دقيقة.
  function minutes(n) {
    if (n === 1) return 'دقيقة واحدة';
    if (n === 2) return 'دقيقتان';
    if (n >= 3 && n <= 10) return n + ' دقائق';
    return n + ' دقيقة';
  }

  function formatDate(date, withTime) {
    var options = { year: 'numeric', month: 'long', day: 'numeric' };
    if (withTime) { options.hour = '2-digit'; options.minute = '2-digit'; }
    try {
      return date.toLocaleDateString('ar-MA', options);
    } catch (e) {
      return date.toISOString().slice(0, 10);
    }
  }

  function ready() {
    document.querySelectorAll('.today').forEach(function (el) {
      el.textContent = formatDate(new Date(), false);
    });

    // About 180 words a minute for Arabic news prose.
    document.querySelectorAll('.reading-time[data-words]').forEach(function (el) {
      var words = parseInt(el.getAttribute('data-words'), 10) || 0;
      el.textContent = 'مدة القراءة: ' + minutes(Math.max(1, Math.round(words / 180)));
    });

    document.querySelectorAll('time[datetime]').forEach(function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (!isNaN(d.getTime())) el.title = formatDate(d, true);
    });

    var top = document.querySelector('.back-to-top');
    if (top) {
      var update = function () { top.hidden = window.scrollY < 400; };
      window.addEventListener('scroll', update, { passive: true });
      update();
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
})();
