/**
 * Sorted values from which matched ones are removed, answering "which value still available is nearest
 * to t?" in O(log n) plus near-constant amortised time: a binary search for t's position, then two
 * union–find forests with path compression over the positions, one pointing right to the next available
 * position and one pointing left. Greedy matching of m cases to n candidates thus costs O((n + m) log n)
 * instead of O(n·m).
 */
export class NearestAvailable {
  /** rightward[i]: a position ≥ i that is available or leads on to one; n is the "none" sentinel. */
  private readonly rightward: Int32Array;
  /** leftward[i + 1]: the same leftwards for position i, shifted by one so that 0 is the sentinel. */
  private readonly leftward: Int32Array;
  private remaining: number;

  /** `sorted` must be in ascending order; it is not copied. */
  constructor(private readonly sorted: Float64Array) {
    const n = sorted.length;
    this.rightward = new Int32Array(n + 1);
    this.leftward = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) {
      this.rightward[i] = i;
      this.leftward[i] = i;
    }
    this.remaining = n;
  }

  /** Available values left. */
  get size(): number {
    return this.remaining;
  }

  /**
   * The position of the available value nearest to `target`, or -1 when none is left. When the nearest
   * values below and above are equally far, `preferLower()` decides (called only then).
   */
  nearest(target: number, preferLower: () => boolean): number {
    if (this.remaining === 0) return -1;
    const position = this.lowerBound(target);
    const above = this.findRight(position);
    const below = this.findLeft(position) - 1;
    if (above === this.sorted.length) return below;
    if (below < 0) return above;
    const distanceBelow = target - this.sorted[below];
    const distanceAbove = this.sorted[above] - target;
    if (distanceBelow === distanceAbove) return preferLower() ? below : above;
    return distanceBelow < distanceAbove ? below : above;
  }

  /** The value at a position. */
  valueAt(position: number): number {
    return this.sorted[position];
  }

  /** Marks a position as used. */
  remove(position: number): void {
    if (this.rightward[position] !== position) return;
    this.rightward[position] = position + 1;
    this.leftward[position + 1] = position;
    this.remaining -= 1;
  }

  /** The first position whose value is ≥ target (n when none is). */
  private lowerBound(target: number): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle] < target) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The first available position ≥ start, or n. */
  private findRight(start: number): number {
    return find(this.rightward, start);
  }

  /** One more than the last available position < start, or 0 when there is none. */
  private findLeft(start: number): number {
    return find(this.leftward, start);
  }
}

/** The root of `node` in a forest stored as parent pointers, compressing the path on the way. */
function find(parent: Int32Array, node: number): number {
  let root = node;
  while (parent[root] !== root) root = parent[root];
  let current = node;
  while (parent[current] !== root) {
    const next = parent[current];
    parent[current] = root;
    current = next;
  }
  return root;
}
