/**
 * The k-th largest (k from 0) of values[0..n), by quickselect: reorders that prefix in place, expected O(n),
 * leaving the k larger-or-equal values in values[0..k).
 * Three-way partitioning keeps runs of equal values (tied scores) linear instead of quadratic.
 */
export function kthLargest(values: Float64Array, n: number, k: number): number {
  if (!(k >= 0 && k < n && n <= values.length)) throw new RangeError(`k must be in [0, ${n}), got ${k}`);
  let lo = 0;
  let hi = n - 1;
  for (;;) {
    if (lo === hi) return values[lo]!;
    const pivot = medianOfThree(values[lo]!, values[(lo + hi) >>> 1]!, values[hi]!);
    // after the pass: [lo, lt) > pivot, [lt, i) = pivot, (gt, hi] < pivot, descending like the rank k
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = values[i]!;
      if (v > pivot) {
        values[i++] = values[lt]!;
        values[lt++] = v;
      } else if (v < pivot) {
        values[i] = values[gt]!;
        values[gt--] = v;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
