/**
 * The order a bench's enterprises arrive in (`LIANXIN_BENCH_SUBJECTS`): `ascending`, their numbers in order (the issue's
 * probe), or `random`, the same numbers scattered over the 9-digit range, as real USCCs arrive in no order.
 */
import { BenchError } from './errors.ts';

export type SubjectOrder = 'ascending' | 'random';

export function subjectOrder(): SubjectOrder {
  const order = process.env.LIANXIN_BENCH_SUBJECTS ?? 'ascending';
  if (order !== 'ascending' && order !== 'random') {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_SUBJECTS must be "ascending" or "random", not "${order}"`);
  }
  return order;
}

/**
 * Multiplying by this prime modulo 10⁹ permutes the 9-digit enterprise numbers (it shares no factor with 10⁹): the
 * `random` order's subjects are all distinct, the same in every run, and consecutive ones 17,548,347 apart (a
 * fixed stride, modulo 10⁹): not random, but every flush of a store spans its key range.
 */
const SCATTER = 982_451_653n;
const NINE_DIGITS = 1_000_000_000n;

/** The `n`th enterprise's 9-digit number in `order`. */
export const enterpriseNumber = (n: number, order: SubjectOrder): number =>
  order === 'ascending' ? n : Number((BigInt(n) * SCATTER) % NINE_DIGITS);
