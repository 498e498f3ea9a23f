/**
 * An independent, deliberately naive implementation of the cache semantics (arrays and Maps, no
 * shared code with src/policies), to check the fast implementation's counts against.
 * Access order is given; capacity per scope; scope = layer (perLayer) or one global scope.
 */
export type Kind = 'lru' | 'lfu' | 'belady';

export function referenceHits(keys: number[], numExperts: number, capacity: number, perLayer: boolean, kind: Kind): number {
  const scope = (k: number) => (perLayer ? Math.floor(k / numExperts) : 0);
  const resident = new Map<number, Set<number>>();
  const lastUse = new Map<number, number>();
  const count = new Map<number, number>();
  let hits = 0;
  keys.forEach((key, i) => {
    count.set(key, (count.get(key) ?? 0) + 1);
    const s = scope(key);
    if (!resident.has(s)) resident.set(s, new Set());
    const set = resident.get(s)!;
    if (set.has(key)) {
      hits++;
    } else if (capacity > 0) {
      if (set.size >= capacity) {
        const members = [...set];
        let victim: number;
        if (kind === 'lru') {
          victim = members.reduce((a, b) => (lastUse.get(a)! <= lastUse.get(b)! ? a : b));
        } else if (kind === 'lfu') {
          victim = members.reduce((a, b) => {
            const ca = count.get(a)!, cb = count.get(b)!;
            if (ca !== cb) return ca < cb ? a : b;
            return lastUse.get(a)! <= lastUse.get(b)! ? a : b;
          });
        } else {
          const next = (k: number) => {
            const j = keys.indexOf(k, i + 1);
            return j < 0 ? Infinity : j;
          };
          victim = members.reduce((a, b) => (next(a) >= next(b) ? a : b));
        }
        set.delete(victim);
      }
      set.add(key);
    }
    lastUse.set(key, i);
  });
  return hits;
}
