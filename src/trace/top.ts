/**
 * The `k` best-scoring experts, best first, ties to the lower id: written to out[0..k). O(E * k),
 * no allocation; for the small k of top-k routing this beats sorting all E.
 */
export function topExperts(scores: ArrayLike<number>, k: number, out: Int32Array, positiveOnly = false): number {
  const E = scores.length;
  let n = 0;
  for (let e = 0; e < E; e++) {
    const s = scores[e];
    if (positiveOnly && !(s > 0)) continue;
    if (n === k && !(s > scores[out[n - 1]])) continue; // not better than the worst kept (ties: lower id kept)
    let j = n < k ? n++ : n - 1;
    while (j > 0 && s > scores[out[j - 1]]) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = e;
  }
  return n;
}
