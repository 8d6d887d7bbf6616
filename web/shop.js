// The demo shop's customer picker: re-renders the widget for the chosen customer.
(function () {
  'use strict';
  var select = document.getElementById('customer');
  var tips = document.getElementById('tips');
  var wanted = new URLSearchParams(location.search).get('customer');

  function option(value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    return o;
  }

  function show(id) {
    tips.setAttribute('data-customer', id);
    if (window.nextbest) window.nextbest.refresh(tips);
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
