// The request bodies both servers get: a fixed, seeded pool.

const POOL_SIZE = 16_384;
const UNKNOWN_SHARE = 0.05;
const CALL_CENTER_SHARE = 0.5;
const CANCEL_SHARE = 0.3; // of call-center requests

// mulberry32: small, seeded, good enough to spread IDs
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const id = (n) => `C${String(n).padStart(7, '0')}`;

/** Decision requests over customers C0000001…, with ~5 % IDs beyond the population. */
export function makeBodies(customers, seed = 7) {
  const next = random(seed);
  const mix = { unknown: 0, web: 0, callCenter: 0, cancel: 0 };
  const bodies = [];
  for (let i = 0; i < POOL_SIZE; i++) {
    const unknown = next() < UNKNOWN_SHARE;
    const customerId = unknown
      ? id(customers + 1 + Math.floor(next() * 1_000_000))
      : id(1 + Math.floor(next() * customers));
    const channel = next() < CALL_CENTER_SHARE ? 'call-center' : 'web';
    const body = { customerId, channel };
    if (channel === 'call-center' && next() < CANCEL_SHARE) body.context = { intent: 'cancel' };
    mix.unknown += unknown;
    mix[channel === 'web' ? 'web' : 'callCenter']++;
    mix.cancel += body.context ? 1 : 0;
    bodies.push(Buffer.from(JSON.stringify(body)));
  }
  return { bodies, mix, size: POOL_SIZE };
}
