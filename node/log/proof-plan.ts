/**
 * Which Merkle tree hashes an RFC 9162 proof carries, as leaf ranges, and which stored complete subtrees make up
 * each range. Pure arithmetic on sizes (no hashing, no I/O), so a proof's reads can be gathered into one batch.
 * Sizes are plain numbers: exact up to 2^53, and no bitwise operators (they truncate to 32 bits).
 */

/** Leaves [begin, end): the proof element is MTH(D[begin:end]). */
export interface LeafRange {
  readonly begin: number;
  readonly end: number;
}

/** The complete subtree of 2^level leaves starting at leaf index·2^level: one stored hash. */
export interface SubtreeId {
  readonly level: number;
  readonly index: number;
}

/** RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]): for n > 1, PATH(m, D[0:k]) : MTH(D[k:n]) when m < k, else
 * PATH(m - k, D[k:n]) : MTH(D[0:k]). Returned leaf-first, the order verifiers consume it (§2.1.3.2).
 * Requires 0 <= index < size.
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const path: LeafRange[] = [];
  let begin = 0;
  let end = size;
  while (end - begin > 1) {
    const mid = begin + split(end - begin);
    if (index < mid) {
      path.push({ begin: mid, end });
      end = mid;
    } else {
      path.push({ begin, end: mid });
      begin = mid;
    }
  }
  return path.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), where SUBPROOF(m, D[m], true) = {},
 * SUBPROOF(m, D[m], false) = {MTH(D[m])}, and for m < n: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) when m <= k, else
 * SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]). Requires 0 < size1 <= size2.
 */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  const proof: LeafRange[] = [];
  let begin = 0;
  let end = size2;
  let complete = true;
  for (;;) {
    const m = size1 - begin;
    const n = end - begin;
    if (m === n) {
      if (!complete) proof.push({ begin, end });
      return proof.reverse();
    }
    const mid = begin + split(n);
    if (m <= mid - begin) {
      proof.push({ begin: mid, end });
      end = mid;
    } else {
      proof.push({ begin, end: mid });
      begin = mid;
      complete = false;
    }
  }
}

/**
 * The complete subtrees, largest first, whose right fold H(c1, H(c2, …)) is MTH(D[begin:end]) (RFC 9162 §2.1.1:
 * the tree leans left, the last node is not duplicated). Every range the two functions above produce starts at a
 * multiple of a power of two at least its length, so each subtree here is aligned and therefore stored.
 */
export function rangeSubtrees({ begin, end }: LeafRange): SubtreeId[] {
  const subtrees: SubtreeId[] = [];
  let at = begin;
  while (at < end) {
    let width = 1;
    let level = 0;
    while (width * 2 <= end - at) {
      width *= 2;
      level += 1;
    }
    subtrees.push({ level, index: at / width });
    at += width;
  }
  return subtrees;
}
