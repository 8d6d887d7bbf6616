import { randomFillSync } from 'node:crypto';

/** Random bytes for this many IDs are drawn at a time. */
const IDS_PER_DRAW = 256;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const pool = Buffer.alloc(16 * IDS_PER_DRAW);
let next = pool.length;
const text = Buffer.alloc(36);

/**
 * A random (version 4) UUID, as crypto.randomUUID makes it, in one flat string. randomUUID
 * joins 20 short strings, and V8 keeps such a join as a tree of pieces: an ID that is kept
 * (a decision remembered for its responses, an event's dedup mark) then costs about ten times
 * its 36 bytes and slows every young-generation collection that has to move it.
 */
export function newId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const b = next;
  next += 16;
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = 0x2d; // -
    // version 4 in byte 6's high nibble, variant 10 in byte 8's two high bits
    const byte = i === 6 ? (pool[b + i]! & 0x0f) | 0x40 : i === 8 ? (pool[b + i]! & 0x3f) | 0x80 : pool[b + i]!;
    text[o++] = HEX[byte >> 4]!;
    text[o++] = HEX[byte & 0x0f]!;
  }
  return text.toString('latin1', 0, 36);
}
