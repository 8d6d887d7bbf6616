// The call-center agent panel: profile summary, 1–3 recommended actions with script and reason,
// Accept / Reject posted as responses, then the actions shown again. Every request of one call
// (a customer looked up until another is) names the call as its interaction, so looking the
// customer up again, changing the call reason or answering an action presents nothing new.
// The agent's key (an `agent` key) is asked for when the service wants one and kept for the
// browser tab's session; what goes wrong is said in words for the agent, not for a developer.
(function () {
  'use strict';
  var $ = function (id) {
    return document.getElementById(id);
  };
  var form = $('lookup');
  var customer = $('customer');
  var intent = $('intent');
  var keyInput = $('key');
  var keyForm = $('key-form');
  var keySaved = $('key-saved');
  var status = $('status');
  var profileBox = $('profile');
  var actions = $('actions');
  var CHANNEL = 'call-center';
  var SEGMENTS = { super: 'Super (top 5 %)', top: 'Top', middle: 'Middle', bottom: 'Bottom' };
  var PHASES = { new: 'New', loyalty: 'Loyalty', retain: 'Retain (at risk)', regain: 'Regain (lapsed)' };

  var KEY_ITEM = 'nextbest-key';
  var key = sessionStorage.getItem(KEY_ITEM) || '';

  function headers() {
    var h = { 'content-type': 'application/json' };
    if (key) h.authorization = 'Bearer ' + key;
    return h;
  }

  /** Shows the key form, or the line saying a key is in use. */
  function askForKey() {
    keyForm.hidden = false;
    keySaved.hidden = true;
  }
  function keyInUse() {
    keyForm.hidden = true;
    keySaved.hidden = !key;
  }

  function say(text, isProblem) {
    status.textContent = text;
    status.className = isProblem ? 'problem' : '';
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

  var UNREACHABLE =
    'The recommendation service cannot be reached. Check your connection and try again in a minute; if it keeps happening, tell your team lead.';

  /** What went wrong, in an agent's words: an Error whose `refused` marks a key problem. */
  function trouble(res) {
    var err;
    if (!res) err = new Error(UNREACHABLE);
    else if (res.status === 401)
      err = new Error(
        key
          ? 'Your agent key was not accepted. Check it and enter it again, or ask your team lead for a new one.'
          : 'Enter your agent key to look customers up. Your team lead can give you one.',
      );
    else if (res.status === 403)
      err = new Error('Your key does not open the agent panel. Ask your team lead for an agent key.');
    else if (res.status === 429) err = new Error('Too many look-ups in a short time. Wait a minute, then try again.');
    else if (res.status === 400)
      err = new Error('This customer ID cannot be looked up: it takes letters, digits and . _ : - only.');
    else if (res.status === 404) err = new Error('Not found.');
    else if (res.status >= 500)
      err = new Error(
        'The recommendation service has a problem right now. Try again in a minute; if it keeps happening, tell your team lead' +
          reference(res) +
          '.',
      );
    else
      err = new Error(
        'Something went wrong (error ' +
          res.status +
          '). Try again; if it keeps happening, tell your team lead' +
          reference(res) +
          '.',
      );
    err.status = res ? res.status : 0;
    err.refused = err.status === 401 || err.status === 403;
    return err;
  }
  function reference(res) {
    var id = res.headers.get('x-request-id');
    return id ? ' (reference ' + id + ')' : '';
  }

  /** fetch, with an unreachable service and an error answer both thrown as trouble. */
  function ask(path, init) {
    return fetch(path, init).then(
      function (res) {
        if (!res.ok) throw trouble(res);
        return res;
      },
      function () {
        throw trouble(null);
      },
    );
  }

  function riskOf(churn) {
    return churn >= 0.6 ? ['high', 'risk-high'] : churn >= 0.3 ? ['medium', 'risk-medium'] : ['low', 'risk-low'];
  }

  function showProfile(id, p, note) {
    profileBox.replaceChildren();
    if (!p) {
      profileBox.appendChild(el('p', { class: 'muted', text: note }));
      return;
    }
    var risk = riskOf(p.churnScore);
    var rows = [
      ['Customer', id],
      ['Value segment', SEGMENTS[p.valueSegment] || p.valueSegment],
      ['Lifecycle phase', PHASES[p.lifecyclePhase] || p.lifecyclePhase],
      [
        'Lifetime value',
        new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).format(
          p.clv,
        ),
      ],
      ['Churn risk', risk[0] + ' (' + Math.round(p.churnScore * 100) + ' %)', risk[1]],
      ['NPS', p.npsScore === null || p.npsScore === undefined ? 'not asked' : String(p.npsScore)],
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
    return ask(path, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
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
          .then(function () {
            say((outcome === 'accept' ? 'Accepted: ' : 'Rejected: ') + title + '. Actions updated.');
            return lookUp(true);
          })
          .catch(function (err) {
            if (err.refused) askForKey();
            say('The answer was not recorded. ' + err.message, true);
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
    var request = {
      customerId: id,
      channel: CHANNEL,
      placement: 'agent-panel',
      limit: 3,
      interactionId: callFor(id),
    };
    if (intent.value) request.context = { intent: intent.value };
    // the summary an agent key may read: segment, phase, CLV, churn, NPS, products
    var profile = ask('/v1/profiles/' + encodeURIComponent(id), { headers: headers() }).then(
      function (res) {
        return res.json().then(function (p) {
          return { profile: p };
        });
      },
      function (err) {
        if (err.status === 404) return { note: 'Not a known customer: general actions only.' };
        if (err.status === 403)
          return { note: 'Your key shows actions but not customer details. Ask your team lead for an agent key.' };
        return { note: 'Customer details are unavailable right now.' };
      },
    );
    var decision = post('/v1/decisions', request).then(function (res) {
      return res.json();
    });
    return Promise.all([profile, decision])
      .then(function (both) {
        if (turn !== lookUps) return;
        // it worked: with a key, say it is in use; without one, the service needs none
        if (key) keyInUse();
        else $('key-box').hidden = true;
        showProfile(id, both[0].profile, both[0].note);
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
        $('arm-note').hidden = true;
        if (err.refused) {
          profileBox.replaceChildren(el('p', { class: 'muted', text: 'Enter your agent key to see this customer.' }));
          askForKey();
          keyInput.focus();
        }
        say(err.message, true);
      });
  }

  keyForm.addEventListener('submit', function (e) {
    e.preventDefault();
    key = keyInput.value.trim();
    keyInput.value = '';
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    else sessionStorage.removeItem(KEY_ITEM);
    keyInUse();
    if (customer.value.trim()) lookUp(false);
    else say('Key saved. Enter or pick a customer.');
  });
  $('change-key').addEventListener('click', function () {
    askForKey();
    keyInput.focus();
  });

  /** One button per sample customer: the demo population's, none for real profiles. */
  function showSamples(list) {
    var ul = $('sample-list');
    list.forEach(function (c) {
      var label =
        c.customerId +
        ' — ' +
        (SEGMENTS[c.valueSegment] || c.valueSegment) +
        ', ' +
        (PHASES[c.lifecyclePhase] || c.lifecyclePhase);
      var b = el('button', { type: 'button', class: 'secondary', 'data-customer': c.customerId, text: label });
      b.addEventListener('click', function () {
        customer.value = c.customerId;
        lookUp(false);
      });
      ul.appendChild(el('li', {}, [b]));
    });
    $('samples').hidden = list.length === 0;
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
      showSamples(body.customers || []);
      // a service without API keys needs none: the form shows only where one is asked for
      if (!key && body.keysRequired !== false) askForKey();
    })
    .catch(function () {
      if (!key) askForKey();
    });

  keyInUse();

  var wanted = new URLSearchParams(location.search);
  if (wanted.get('intent')) intent.value = wanted.get('intent');
  if (wanted.get('customer')) {
    customer.value = wanted.get('customer');
    lookUp(false);
  }
})();
