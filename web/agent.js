// The call-center agent panel: profile summary, 1–3 recommended actions with script and reason,
// Accept / Reject posted as responses, then the actions shown again. Every request of one call
// (a customer looked up until another is) names the call as its interaction, so looking the
// customer up again, changing the call reason or answering an action presents nothing new.
(function () {
  'use strict';
  var $ = function (id) {
    return document.getElementById(id);
  };
  var form = $('lookup');
  var customer = $('customer');
  var intent = $('intent');
  var key = $('key');
  var status = $('status');
  var profileBox = $('profile');
  var actions = $('actions');
  var CHANNEL = 'call-center';
  var SEGMENTS = { super: 'Super (top 5 %)', top: 'Top', middle: 'Middle', bottom: 'Bottom' };
  var PHASES = { new: 'New', loyalty: 'Loyalty', retain: 'Retain (at risk)', regain: 'Regain (lapsed)' };

  key.value = sessionStorage.getItem('nextbest-key') || '';

  function headers() {
    var h = { 'content-type': 'application/json' };
    if (key.value) h.authorization = 'Bearer ' + key.value;
    return h;
  }

  function say(text) {
    status.textContent = text;
  }
  function plural(n) {
    return n === 1 ? '1 action' : n + ' actions';
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'text') node.textContent = props[k];
      else node.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) {
      if (c) node.appendChild(c);
    });
    return node;
  }

  /** The problem+json detail, or the status. */
  function failure(res) {
    return res.json().then(
      function (p) {
        return (p && (p.detail || p.title)) || 'status ' + res.status;
      },
      function () {
        return 'status ' + res.status;
      },
    );
  }

  function riskOf(churn) {
    return churn >= 0.6 ? ['high', 'risk-high'] : churn >= 0.3 ? ['medium', 'risk-medium'] : ['low', 'risk-low'];
  }

  function showProfile(p, note) {
    profileBox.replaceChildren();
    if (!p) {
      profileBox.appendChild(el('p', { class: 'muted', text: note }));
      return;
    }
    var risk = riskOf(p.churnScore);
    var rows = [
      ['Customer', p.customerId],
      ['Value segment', SEGMENTS[p.valueSegment] || p.valueSegment],
      ['Lifecycle phase', PHASES[p.lifecyclePhase] || p.lifecyclePhase],
      [
        'Lifetime value',
        new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).format(
          p.clv,
        ),
      ],
      ['Churn risk', risk[0] + ' (' + Math.round(p.churnScore * 100) + ' %)', risk[1]],
      ['NPS', p.npsScore === undefined ? 'not asked' : String(p.npsScore)],
      ['Products', (p.productsHeld || []).join(', ') || 'none'],
    ];
    var dl = el('dl', { class: 'profile' });
    rows.forEach(function (r) {
      dl.appendChild(el('dt', { text: r[0] }));
      dl.appendChild(el('dd', r[2] ? { text: r[1], class: r[2] } : { text: r[1] }));
    });
    profileBox.appendChild(dl);
  }

  function post(path, body) {
    return fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  }

  function respond(decision, offer, outcome) {
    return post('/v1/responses', {
      events: [
        {
          customerId: decision.customerId,
          offerId: offer.offerId,
          outcome: outcome,
          channel: CHANNEL,
          decisionId: decision.decisionId,
          interactionId: decision.interactionId || undefined,
          eventId: decision.decisionId + ':' + offer.offerId + ':' + outcome,
          at: new Date().toISOString(),
        },
      ],
    });
  }

  function showActions(decision) {
    actions.replaceChildren();
    // the control group's actions are not the model's choice: no reason to give, a discreet label
    var control = decision.arm === 'control';
    $('arm-note').hidden = !control;
    actions.setAttribute('data-arm', decision.arm || '');
    if (decision.offers.length === 0) {
      actions.appendChild(el('li', { class: 'muted', text: 'No action to recommend for this customer now.' }));
      return;
    }
    decision.offers.forEach(function (offer) {
      var t = offer.treatment || {};
      var title = t.title || offer.name;
      var buttons = el('div', { class: 'buttons' }, [
        el('button', { type: 'button', 'data-outcome': 'accept', 'aria-label': 'Accept: ' + title, text: 'Accept' }),
        el('button', {
          type: 'button',
          class: 'secondary',
          'data-outcome': 'reject',
          'aria-label': 'Reject: ' + title,
          text: 'Reject',
        }),
      ]);
      buttons.addEventListener('click', function (e) {
        var outcome = e.target && e.target.getAttribute('data-outcome');
        if (!outcome) return;
        buttons.querySelectorAll('button').forEach(function (b) {
          b.disabled = true;
        });
        respond(decision, offer, outcome)
          .then(function (res) {
            if (!res.ok)
              return failure(res).then(function (why) {
                throw new Error(why);
              });
            say((outcome === 'accept' ? 'Accepted: ' : 'Rejected: ') + title + '. Actions updated.');
            return lookUp(true);
          })
          .catch(function (err) {
            say('Could not record the answer: ' + err.message);
            buttons.querySelectorAll('button').forEach(function (b) {
              b.disabled = false;
            });
          });
      });
      actions.appendChild(
        el(
          'li',
          { 'data-offer': offer.offerId, 'data-group': offer.group, 'aria-labelledby': 'action-' + offer.rank },
          [
            el('div', { class: 'group', text: offer.rank + ' · ' + offer.group }),
            el('h3', { id: 'action-' + offer.rank, text: title }),
            t.script ? el('blockquote', { text: t.script }) : null,
            t.reason && !control
              ? el('p', { class: 'why' }, [el('strong', { text: 'Why this: ' }), document.createTextNode(t.reason)])
              : null,
            buttons,
          ],
        ),
      );
    });
    // the agent has the actions in front of them: that is their impression
    var events = decision.offers.map(function (o) {
      return {
        customerId: decision.customerId,
        offerId: o.offerId,
        outcome: 'impression',
        channel: CHANNEL,
        decisionId: decision.decisionId,
        eventId: decision.decisionId + ':' + o.offerId + ':impression',
        at: new Date().toISOString(),
      };
    });
    post('/v1/responses', { events: events }).catch(function () {});
  }

  var lookUps = 0;
  /** the call in progress: its customer and the interaction its requests name */
  var call = { customerId: null, interactionId: null };

  function callFor(id) {
    if (call.customerId !== id)
      call = {
        customerId: id,
        interactionId: 'call-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10),
      };
    return call.interactionId;
  }

  function lookUp(keepStatus) {
    var id = customer.value.trim();
    if (!id) return Promise.resolve();
    // a slower earlier look-up must not show its customer after a later one
    var turn = ++lookUps;
    if (!keepStatus) say('Looking up ' + id + '…');
    sessionStorage.setItem('nextbest-key', key.value);
    var request = {
      customerId: id,
      channel: CHANNEL,
      placement: 'agent-panel',
      limit: 3,
      interactionId: callFor(id),
    };
    if (intent.value) request.context = { intent: intent.value };
    var profile = fetch('/v1/profiles/' + encodeURIComponent(id), { headers: headers() }).then(
      function (res) {
        if (res.ok)
          return res.json().then(function (p) {
            return { profile: p };
          });
        if (res.status === 404) return { note: 'Not a known customer: general actions only.' };
        if (res.status === 401 || res.status === 403) return { note: 'The profile needs an admin key.' };
        return failure(res).then(function (why) {
          return { note: 'Profile unavailable: ' + why };
        });
      },
      function () {
        return { note: 'Profile unavailable: the service did not answer.' };
      },
    );
    var decision = post('/v1/decisions', request).then(function (res) {
      if (!res.ok)
        return failure(res).then(function (why) {
          throw new Error(why);
        });
      return res.json();
    });
    return Promise.all([profile, decision])
      .then(function (both) {
        if (turn !== lookUps) return;
        showProfile(both[0].profile, both[0].note);
        showActions(both[1]);
        if (!keepStatus)
          say(
            plural(both[1].offers.length) +
              ' for ' +
              id +
              (intent.value ? ' on a ' + intent.value + ' call' : '') +
              (both[1].degraded ? ' (some data unavailable)' : '') +
              '.',
          );
      })
      .catch(function (err) {
        if (turn !== lookUps) return;
        actions.replaceChildren();
        say('No recommendation: ' + err.message);
      });
  }

  $('new-call').addEventListener('click', function () {
    call = { customerId: null, interactionId: null };
    lookUp(false);
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    lookUp(false);
  });
  intent.addEventListener('change', function () {
    var id = customer.value.trim();
    if (!id) return;
    // a call keeps the actions decided when it began: a new reason is no new presentation
    if (call.customerId === id) {
      say('Call reason noted. This call keeps the actions decided when it began; New call decides for the new reason.');
      return lookUp(true);
    }
    lookUp(false);
  });

  fetch('/demo/customers')
    .then(function (res) {
      return res.json();
    })
    .then(function (body) {
      (body.customers || []).forEach(function (c) {
        $('customers').appendChild(
          el('option', { value: c.customerId, label: c.customerId + ' — ' + c.valueSegment + ', ' + c.lifecyclePhase }),
        );
      });
    })
    .catch(function () {});

  var wanted = new URLSearchParams(location.search);
  if (wanted.get('intent')) intent.value = wanted.get('intent');
  if (wanted.get('customer')) {
    customer.value = wanted.get('customer');
    lookUp(false);
  }
})();
