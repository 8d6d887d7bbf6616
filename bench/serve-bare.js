// The baseline: the same hono + @hono/node-server stack doing nothing but parse and answer JSON.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { reportWhenListening } from './child.js';

const app = new Hono();
app.post('/echo', async (c) => {
  const b = await c.req.json();
  return c.json({ ok: true, customerId: b.customerId });
});
reportWhenListening(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }));
