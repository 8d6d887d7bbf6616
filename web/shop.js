// The demo shop's customer picker: re-renders the widget for the chosen customer, and says on
// the page when the decision service refused the page or did not answer (a demo should not hide
// that behind the fallback tips).
(function () {
  'use strict';
  var select = document.getElementById('customer');
  var tips = document.getElementById('tips');
  var note = document.getElementById('service-note');
  var CUSTOMER_ITEM = 'nextbest-demo-customer';
  var wanted = new URLSearchParams(location.search).get('customer') || sessionStorage.getItem(CUSTOMER_ITEM);
  var NOTES = {
    refused:
      'Demo note: the decision service refused this page’s request (the service has API keys, and this demo page sends none, or one it does not accept), so you see the shop’s own fallback tips. Open the demo on a service without API_KEYS, or embed the widget with a key that may decide.',
    unavailable:
      'Demo note: the decision service did not answer, so you see the shop’s own fallback tips. Check that it is running, then pick the customer again.',
    timeout:
      'Demo note: the decision service took longer than the widget waits (800 ms), so you see the shop’s own fallback tips.',
  };

  function option(value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    return o;
  }

  function explain() {
    var why = tips.getAttribute('data-nextbest-state') === 'fallback' && tips.getAttribute('data-nextbest-reason');
    var text = (why && NOTES[why]) || '';
    note.textContent = text;
    note.hidden = !text;
  }

  function show(id) {
    tips.setAttribute('data-customer', id);
    try {
      sessionStorage.setItem(CUSTOMER_ITEM, id);
    } catch (_e) {
      // private mode: the picker starts afresh next time
    }
    if (!window.nextbest) {
      note.textContent = 'Demo note: the widget script did not load, so you see the shop’s own fallback tips.';
      note.hidden = false;
      return;
    }
    window.nextbest.refresh(tips).then(explain, explain);
  }

  fetch('/demo/customers')
    .then(function (res) {
      return res.json();
    })
    .catch(function () {
      return { customers: [] };
    })
    .then(function (body) {
      (body.customers || []).forEach(function (c) {
        select.appendChild(option(c.customerId, c.customerId + ' — ' + c.valueSegment + ' value, ' + c.lifecyclePhase));
      });
      select.appendChild(option('GUEST-0001', 'GUEST-0001 — not a customer (fallback tips)'));
      if (wanted) {
        if (
          !Array.prototype.some.call(select.options, function (o) {
            return o.value === wanted;
          })
        )
          select.appendChild(option(wanted, wanted));
        select.value = wanted;
      }
      select.addEventListener('change', function () {
        show(select.value);
      });
      show(select.value);
    });
})();
