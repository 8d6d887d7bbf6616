/*
 * nextbest "Tips for you" widget: no dependencies, no framework.
 *
 *   <div data-nextbest data-customer-token="<JWT from your back end>" data-channel="web"></div>
 *   <script src="https://nextbest.example.com/widget.js" data-key="PUBLIC_KEY" async></script>
 *
 * (or data-customer="C0000042" with a decide key, for pages whose key is not public;
 * data-link-base="/shop" puts a prefix before call-to-action URLs that are paths, like /offers/x)
 *
 * Renders 2–4 cards from POST /v1/decisions; records an impression when a card is at least half
 * visible and a click on its call to action through POST /v1/responses (idempotent eventIds,
 * batched, sent with fetch keepalive — or sendBeacon where keepalive is missing — when the page
 * goes away). A slow (> 800 ms) or failed API leaves the element's own content (the host page's
 * fallback tips, or nothing): never an error. Why it fell back is in data-nextbest-reason:
 * refused (401/403: the key or token), unavailable (no answer, 429, 5xx), timeout, or empty.
 * Themable with CSS custom properties (--nb-*), see the README.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  var scriptData = (script && script.dataset) || {};
  var BASE = (
    scriptData.api || (script && script.src ? new URL(script.src, location.href).origin : location.origin)
  ).replace(/\/+$/, '');
  var KEY = scriptData.key || '';
  var FLUSH_MS = 1000;
  var FLUSH_AT = 20;
  /** sends of a batch the service could not take (network, 429, 5xx); eventIds make a resend safe */
  var ATTEMPTS = 3;
  var STYLE_ID = 'nextbest-widget-style';
  var queue = [];
  var sent = {};
  var flushTimer = null;
  var mounted = [];
  var uid = 0;
  /** this page view: each element's requests name one interaction, so a reload of it presents nothing new */
  var PAGE_VIEW = 'pv-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
  var views = 0;

  var CSS = [
    ':where(.nb-tips){display:grid;grid-template-columns:repeat(auto-fit,minmax(var(--nb-card-min,12rem),1fr));gap:var(--nb-gap,1rem);font:inherit;color:inherit;margin:0;padding:0}',
    ':where(.nb-tips .nb-card){display:flex;flex-direction:column;gap:.5rem;padding:var(--nb-padding,1rem);background:var(--nb-bg,transparent);color:var(--nb-fg,inherit);border:var(--nb-border,1px solid currentColor);border-radius:var(--nb-radius,.5rem)}',
    ':where(.nb-tips .nb-title){font-size:var(--nb-title-size,1.05em);font-weight:600;margin:0}',
    ':where(.nb-tips .nb-text){margin:0;flex:1}',
    ':where(.nb-tips .nb-cta){align-self:flex-start;display:inline-block;padding:.4em .9em;border-radius:var(--nb-radius,.5rem);background:var(--nb-accent,#1a56db);color:var(--nb-accent-fg,#fff);text-decoration:none;font:inherit;border:0;cursor:pointer}',
    ':where(.nb-tips .nb-cta:focus-visible){outline:var(--nb-focus,3px solid #f59e0b);outline-offset:2px}',
  ].join('\n');

  function addStyle() {
    if (document.getElementById(STYLE_ID) || scriptData.style === 'none') return;
    var style = document.createElement('style');
    style.id = STYLE_ID;
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  function headers() {
    var h = { 'content-type': 'application/json' };
    if (KEY) h.authorization = 'Bearer ' + KEY;
    return h;
  }

  /** Only links a page may follow without running code: http(s), or relative to the host page. */
  function safeUrl(raw) {
    if (typeof raw !== 'string' || raw === '') return null;
    try {
      var url = new URL(raw, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (_e) {
      return null;
    }
  }

  /** A call-to-action URL that is a path of the host site, under the element's data-link-base. */
  function withBase(raw, base) {
    if (!base || typeof raw !== 'string' || raw.charAt(0) !== '/' || raw.charAt(1) === '/') return raw;
    return base.replace(/\/+$/, '') + raw;
  }

  function clampLimit(raw) {
    var n = parseInt(raw, 10);
    return Number.isNaN(n) ? 3 : Math.min(4, Math.max(2, n));
  }

  // keepalive lets a request outlive the page and, unlike a beacon, carry the API key
  var KEEPALIVE = typeof Request === 'function' && 'keepalive' in Request.prototype;

  function send(events, leaving, attempt) {
    var url = BASE + '/v1/responses';
    var token = events[0].token;
    var body = JSON.stringify(
      token
        ? {
            customerToken: token,
            events: events.map(function (e) {
              return {
                offerId: e.offerId,
                outcome: e.outcome,
                channel: e.channel,
                decisionId: e.decisionId,
                eventId: e.eventId,
                at: e.at,
              };
            }),
          }
        : { events: events },
    );
    // a browser without keepalive: a beacon, which carries no key (for a service open to the page)
    if (leaving && !KEEPALIVE && !KEY && navigator.sendBeacon) {
      navigator.sendBeacon(url, new Blob([body], { type: 'application/json' }));
      return;
    }
    var tries = (attempt || 0) + 1;
    var retry = function () {
      if (tries < ATTEMPTS && !leaving)
        setTimeout(function () {
          send(events, false, tries);
        }, 2000 * tries);
    };
    try {
      fetch(url, {
        method: 'POST',
        headers: headers(),
        body: body,
        keepalive: leaving === true,
        mode: 'cors',
        credentials: 'omit',
      }).then(function (res) {
        // refused for good (a bad key, an expired token, a bad event): dropped; busy or down: again later
        if (res.status === 429 || res.status >= 500) retry();
      }, retry);
    } catch (_e) {
      // never an error on the host page
    }
  }

  /** Events in batches of one customer (token) each, at most 500. */
  function batches(events) {
    var out = [];
    var by = {};
    events.forEach(function (e) {
      var k = e.token || '';
      var b = by[k];
      if (!b || b.length >= 500) out.push((b = by[k] = []));
      b.push(e);
    });
    return out;
  }

  function flush(leaving) {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    batches(queue.splice(0, queue.length)).forEach(function (b) {
      send(b, leaving);
    });
  }

  function record(card, outcome) {
    var eventId = card.decisionId + ':' + card.offerId + ':' + outcome;
    if (sent[eventId]) return;
    sent[eventId] = true;
    var e = {
      offerId: card.offerId,
      outcome: outcome,
      channel: card.channel,
      decisionId: card.decisionId,
      eventId: eventId,
      at: new Date().toISOString(),
    };
    // with a customer token the events are the token's customer's: sent beside it, without an ID
    if (card.token) e.token = card.token;
    else e.customerId = card.customerId;
    queue.push(e);
    if (queue.length >= FLUSH_AT) flush(false);
    else if (!flushTimer)
      flushTimer = setTimeout(function () {
        flush(false);
      }, FLUSH_MS);
  }

  var observer =
    typeof IntersectionObserver === 'function'
      ? new IntersectionObserver(
          function (entries) {
            entries.forEach(function (entry) {
              // half of the card, or half of the viewport for a card taller than two viewports
              var seen = entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= window.innerHeight / 2;
              if (!entry.isIntersecting || !seen) return;
              observer.unobserve(entry.target);
              if (entry.target.__nextbest) record(entry.target.__nextbest, 'impression');
            });
          },
          { threshold: [0, 0.1, 0.25, 0.5] },
        )
      : null;

  function card(offer, decision, labelPrefix, linkBase) {
    var t = offer.treatment || {};
    var id = labelPrefix + '-' + offer.rank;
    var el = document.createElement('article');
    el.className = 'nb-card';
    el.setAttribute('aria-labelledby', id);
    el.setAttribute('data-offer', offer.offerId);
    var title = document.createElement('h3');
    title.className = 'nb-title';
    title.id = id;
    title.textContent = t.title || offer.name;
    el.appendChild(title);
    if (t.body) {
      var text = document.createElement('p');
      text.className = 'nb-text';
      text.textContent = t.body;
      el.appendChild(text);
    }
    var info = {
      customerId: decision.customerId,
      token: decision.token,
      offerId: offer.offerId,
      channel: decision.channel,
      decisionId: decision.decisionId,
    };
    var href = safeUrl(withBase(t.ctaUrl, linkBase));
    if (t.ctaLabel) {
      var cta = document.createElement(href ? 'a' : 'button');
      cta.className = 'nb-cta';
      cta.textContent = t.ctaLabel;
      if (href) cta.href = href;
      else cta.type = 'button';
      cta.setAttribute('aria-describedby', id);
      cta.addEventListener('click', function () {
        record(info, 'click');
        // leaving for the offer's page: send now, the page may not get another chance
        if (href) flush(true);
      });
      el.appendChild(cta);
    }
    el.__nextbest = info;
    return el;
  }

  /** Stops watching the cards an element shows, before they are replaced. */
  function forget(el) {
    if (observer && el.__nextbestCards)
      el.__nextbestCards.forEach(function (c) {
        observer.unobserve(c);
      });
    el.__nextbestCards = null;
  }

  function render(el, decision) {
    var offers = (decision.offers || []).filter(function (o) {
      return o && o.offerId && o.treatment;
    });
    if (offers.length === 0) return false;
    var section = document.createElement('section');
    section.className = 'nb-tips';
    section.setAttribute('aria-label', el.getAttribute('data-label') || 'Tips for you');
    section.setAttribute('data-decision', decision.decisionId);
    var prefix = 'nb-' + ++uid;
    var cards = offers.slice(0, clampLimit(el.getAttribute('data-limit'))).map(function (o) {
      return card(o, decision, prefix, el.getAttribute('data-link-base'));
    });
    cards.forEach(function (c) {
      section.appendChild(c);
    });
    forget(el);
    el.replaceChildren ? el.replaceChildren(section) : ((el.innerHTML = ''), el.appendChild(section));
    if (observer)
      cards.forEach(function (c) {
        observer.observe(c);
      });
    el.__nextbestCards = cards;
    el.setAttribute('data-nextbest-state', 'shown');
    el.removeAttribute('data-nextbest-reason');
    return true;
  }

  function load(el) {
    var customerId = el.getAttribute('data-customer');
    var token = el.getAttribute('data-customer-token');
    if (!customerId && !token) return Promise.resolve(false);
    if (!el.__nextbestFallback) el.__nextbestFallback = Array.prototype.slice.call(el.childNodes);
    var timeout = parseInt(el.getAttribute('data-timeout') || scriptData.timeout || '800', 10) || 800;
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = setTimeout(function () {
      if (controller) controller.abort();
    }, timeout);
    el.setAttribute('aria-busy', 'true');
    if (!el.__nextbestInteraction) el.__nextbestInteraction = PAGE_VIEW + '.' + ++views;
    var body = {
      channel: el.getAttribute('data-channel') || 'web',
      placement: el.getAttribute('data-placement') || 'tips-for-you',
      limit: clampLimit(el.getAttribute('data-limit')),
      interactionId: el.__nextbestInteraction,
    };
    // a public key speaks for the customer of a token signed by the site's back end
    if (token) body.customerToken = token;
    else body.customerId = customerId;
    var started = Date.now();
    // only the latest request of an element may change it
    var turn = (el.__nextbestTurn = (el.__nextbestTurn || 0) + 1);
    var current = function () {
      return el.__nextbestTurn === turn;
    };
    return fetch(BASE + '/v1/decisions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
      mode: 'cors',
      credentials: 'omit',
    })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status === 401 || res.status === 403 ? 'refused' : 'unavailable');
        return res.json();
      })
      .then(function (decision) {
        // an answer after the deadline (no AbortController) is dropped too
        if (Date.now() - started > timeout) throw new Error('timeout');
        if (!current()) return false;
        if (token) decision.token = token;
        if (!render(el, decision)) throw new Error('empty');
        return true;
      })
      .catch(function (err) {
        var why = err && /^(refused|unavailable|timeout|empty)$/.test(err.message) ? err.message : 'unavailable';
        if (err && err.name === 'AbortError') why = 'timeout';
        if (current()) fallback(el, why);
        return false;
      })
      .then(function (shown) {
        clearTimeout(timer);
        if (current()) el.removeAttribute('aria-busy');
        return shown;
      });
  }

  /** The host page's own content, as it was before the widget; nothing when it had none. */
  function fallback(el, why) {
    forget(el);
    var own = el.__nextbestFallback || [];
    el.replaceChildren
      ? el.replaceChildren.apply(el, own)
      : ((el.innerHTML = ''),
        own.forEach(function (n) {
          el.appendChild(n);
        }));
    el.setAttribute('data-nextbest-state', 'fallback');
    el.setAttribute('data-nextbest-reason', why);
  }

  function mount(el) {
    try {
      if (mounted.indexOf(el) < 0) mounted.push(el);
      addStyle();
      return load(el);
    } catch (_e) {
      return Promise.resolve(false);
    }
  }

  function start() {
    var els = document.querySelectorAll('[data-nextbest]');
    for (var i = 0; i < els.length; i++) mount(els[i]);
  }

  addEventListener('pagehide', function () {
    flush(true);
  });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden') flush(true);
  });

  window.nextbest = {
    refresh: mount,
    flush: function () {
      flush(false);
    },
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
