/**
 * Protocol Buffers base-128 varints for non-negative safe integers: the one pair of primitives under both
 * hand-written wire paths, the ledger's (network/ledger/block/protobuf-wire.ts) and the node's
 * (node/records/protobuf-wire.ts). Division, not bit shifts, so values above 2^31 stay exact.
 */

/** Bytes of `value` as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) length++;
  return length;
}

/** Writes `value` as a varint at `at`; returns the position after it. */
export function writeVarint(into: Uint8Array, value: number, at: number): number {
  let v = value;
  let i = at;
  while (v >= 0x80) {
    into[i++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  into[i++] = v;
  return i;
}
