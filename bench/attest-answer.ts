/**
 * What the benches take from an AttestStream answer: request `q<i>`'s anchored attestation. Anything else ends the
 * phase, an answer with a request's own error (AttestResponse.error: the stream went on) naming it.
 */
import type { Attestation__Output } from '../node/api/generated/lianxin/v1/Attestation.ts';
import type { AttestResponse__Output } from '../node/api/generated/lianxin/v1/AttestResponse.ts';
import { BenchError } from './errors.ts';

export function anchoredAttestation(answer: AttestResponse__Output, i: number): Attestation__Output {
  const requestId = `q${String(i)}`;
  if (answer.error) {
    const { errorCode, message } = answer.error;
    throw new BenchError('NOTHING_COMPLETED', `request ${requestId} failed: ${errorCode}: ${message}`);
  }
  if (answer.attestation?.state !== 'EVIDENCE_STATE_ANCHORED' || answer.requestId !== requestId)
    throw new BenchError('NOTHING_COMPLETED', `answer ${String(i)} is not an anchored attestation of ${requestId}`);
  return answer.attestation;
}
