/**
 * What the benches take from an AttestStream answer: request `q<i>`'s anchored attestation. Anything else ends the
 * phase. The benches send no request with per_request_errors, so a request that fails ends the stream with its
 * status (the windowed stream reports it) rather than arrive here as an error answer.
 */
import type { Attestation__Output } from '../node/api/generated/lianxin/v1/Attestation.ts';
import type { AttestResponse__Output } from '../node/api/generated/lianxin/v1/AttestResponse.ts';
import { BenchError } from './errors.ts';

export function anchoredAttestation(answer: AttestResponse__Output, i: number): Attestation__Output {
  const requestId = `q${String(i)}`;
  if (answer.attestation?.state !== 'EVIDENCE_STATE_ANCHORED' || answer.requestId !== requestId)
    throw new BenchError('NOTHING_COMPLETED', `answer ${String(i)} is not an anchored attestation of ${requestId}`);
  return answer.attestation;
}
