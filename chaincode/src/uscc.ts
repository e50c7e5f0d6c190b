/**
 * Unified Social Credit Code (统一社会信用代码), GB 32100-2015: 18 characters over a 31-symbol alphabet, the last
 * one a check character with weights 3^(i-1) mod 31 (shared/reference/credit-domain.md §4).
 */
export type UsccMode = 'strict' | 'lenient';

export type UsccCheck =
  | { readonly valid: true; readonly code: string; readonly checksum: boolean }
  | { readonly valid: false; readonly reason: 'format' | 'checksum' };

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;
const SHAPE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

/** The expected 18th character for the first 17 (which must already match the shape). */
export function usccCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += ALPHABET.indexOf(first17.charAt(i)) * (WEIGHTS[i] ?? 0);
  return ALPHABET.charAt((31 - (sum % 31)) % 31);
}

/**
 * Upper-cases, then checks shape and check character. Lenient mode accepts a wrong check character: early
 * pilot-region codes were legally issued that way (aarioai/id-rule chinese_org_id.go).
 */
export function checkUscc(input: string, mode: UsccMode): UsccCheck {
  const code = input.toUpperCase();
  if (!SHAPE.test(code)) return { valid: false, reason: 'format' };
  const checksum = usccCheckCharacter(code.slice(0, 17)) === code.charAt(17);
  if (!checksum && mode === 'strict') return { valid: false, reason: 'checksum' };
  return { valid: true, code, checksum };
}
