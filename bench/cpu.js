// CPU time spent by a process: a per-request cost that other load on the machine disturbs far
// less than req/s does. Linux only (/proc); elsewhere null.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every mainstream Linux

/** User + system CPU seconds of `pid` (or the sum over an array of pids) so far, or null without /proc. */
export function cpuSeconds(pid) {
  if (Array.isArray(pid)) {
    const each = pid.map(cpuSeconds);
    return each.includes(null) ? null : each.reduce((a, b) => a + b, 0);
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
  } catch {
    return null;
  }
}
