/**
 * Unified Social Credit Code (统一社会信用代码), GB 32100-2015: 18 characters over a 31-symbol alphabet, the last
 * one a check character with weights 3^(i-1) mod 31 (shared/reference/credit-domain.md §4).
 */
export type UsccMode = 'strict' | 'lenient';

export type UsccCheck =
  | { readonly valid: true; readonly code: string; readonly checksum: boolean }
  | { readonly valid: false; readonly reason: 'format' | 'checksum' };

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
/** Each character code's value in the alphabet, -1 for a code outside it: one load per character, not a search. */
const SYMBOL_VALUE = new Int8Array(256).fill(-1);
for (let v = 0; v < ALPHABET.length; v++) SYMBOL_VALUE[ALPHABET.charCodeAt(v)] = v;
/**
 * The weights of the first 17 characters: 3^(i-1) mod 31. Read-only by type, not frozen: V8 read a frozen array's
 * elements on a slower path here (≈ 50 ns more per code).
 */
const WEIGHTS: readonly number[] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** A character code's value in the alphabet, -1 when it is not one of its symbols. */
const symbolValue = (code: number): number => SYMBOL_VALUE[code] ?? -1;
/**
 * The shape in either case, tested before upper-casing: toUpperCase maps some non-ASCII letters to ASCII ones
 * ('ﬀ' to 'FF'), which would let a 17-character string pass as a code.
 */
export const USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{2}\d{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10}$/;

/** The check character's value for the weighted sum of the first 17 characters' values. */
const checkValue = (sum: number): number => (31 - (sum % 31)) % 31;

/** The check character's value for the first 17 characters of `code` (which must already match the shape). */
function checkValueOf(code: string): number {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += symbolValue(code.charCodeAt(i)) * (WEIGHTS[i] ?? 0);
  return checkValue(sum);
}

/** The expected 18th character for the first 17 (which must already match the shape). */
export function usccCheckCharacter(first17: string): string {
  return ALPHABET.charAt(checkValueOf(first17));
}

/**
 * Upper-cases, then checks shape and check character. Lenient mode accepts a wrong check character: early
 * pilot-region codes were legally issued that way (aarioai/id-rule chinese_org_id.go).
 */
export function checkUscc(input: string, mode: UsccMode): UsccCheck {
  if (!USCC_SHAPE.test(input)) return { valid: false, reason: 'format' };
  const code = input.toUpperCase();
  const checksum = checkValueOf(code) === symbolValue(code.charCodeAt(17));
  if (!checksum && mode === 'strict') return { valid: false, reason: 'checksum' };
  return { valid: true, code, checksum };
}

/** What a code checkUscc refused fails, worded to follow a field's name. */
export function usccRequirement(reason: 'format' | 'checksum'): string {
  return reason === 'format'
    ? 'is not shaped like a Unified Social Credit Code (GB 32100: 18 characters of 0-9A-HJ-NPQRTUWXY)'
    : 'has a wrong GB 32100 check character';
}

const USCC_LENGTH = 18;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * Whether the 18 bytes at `at` are an upper-case USCC that `mode` accepts: checkUscc's rules on bytes, without a
 * string (checkUscc stays the definition; the index entries' scan re-examines a refused one with it to name the
 * reason). Here beside the table and weights, not in the scan's module: tsx runs chaincode/src as CommonJS, where
 * a name imported from another module is read through a getter at every use, and the scan's 18 reads of each per
 * entry cost a follower 0.30 against 0.05 µs per entry (bench/RESULTS.md, "follow11").
 */
export function usccBytesOk(bytes: Uint8Array, at: number, mode: UsccMode): boolean {
  let sum = 0;
  for (let i = 0; i < USCC_LENGTH; i++) {
    const byte = bytes[at + i] ?? 0;
    const value = symbolValue(byte);
    if (value < 0 || (i >= 2 && i < 8 && (byte < DIGIT_0 || byte > DIGIT_9))) return false;
    if (i < 17) sum += value * (WEIGHTS[i] ?? 0);
    else if (mode === 'strict' && value !== checkValue(sum)) return false;
  }
  return true;
}
