// The baseline: the same hono + @hono/node-server stack doing nothing but parse and answer JSON.
//   POST /echo           answers {ok, customerId}: the smallest JSON round trip
//   POST /echo-decision  answers a decision nextbest gave for the request's channel (BARE_ANSWERS,
//                        set by bench/run.js), with the request's customerId: the same bytes a
//                        decision carries, so the ratio measures the decision and not the payload
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { reportWhenListening } from './child.js';

const answers = JSON.parse(process.env.BARE_ANSWERS || '{}');
const app = new Hono();
app.post('/echo', async (c) => {
  const b = await c.req.json();
  return c.json({ ok: true, customerId: b.customerId });
});
app.post('/echo-decision', async (c) => {
  const b = await c.req.json();
  const answer = answers[b.channel];
  if (!answer) return c.json({ ok: false }, 400);
  return c.json({ ...answer, customerId: b.customerId });
});
reportWhenListening(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }));
