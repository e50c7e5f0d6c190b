import { gateway, peer } from '@hyperledger/fabric-protos';
import { BinaryWriter } from 'google-protobuf';
import { describe, expect, it } from 'vitest';
import { messageFieldBytes } from './raw-service.ts';

const signedProposal = (proposal: string, signature: string) => {
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(Buffer.from(proposal));
  signed.setSignature(Buffer.from(signature));
  return signed;
};

describe('messageFieldBytes', () => {
  it('gives an embedded message exactly as it was received, even when encoding the decoded object differs', () => {
    // SignedProposal with its fields in reverse order: valid protobuf, which google-protobuf re-encodes in order.
    const inner = new BinaryWriter();
    inner.writeBytes(2, Buffer.from('signature'));
    inner.writeBytes(1, Buffer.from('proposal bytes'));
    const received = inner.getResultBuffer();
    const outer = new BinaryWriter();
    outer.writeString(1, 'txid');
    outer.writeString(2, 'credit');
    outer.writeBytes(3, received);
    outer.writeString(4, 'Org1MSP');
    const request = outer.getResultBuffer();

    const decoded = gateway.EndorseRequest.deserializeBinary(request).getProposedTransaction();
    expect(decoded?.serializeBinary()).not.toEqual(received);
    expect(messageFieldBytes(request, 3)).toEqual(received);
  });

  it('is undefined when the field is absent or repeated (the caller then encodes what its decode made of it)', () => {
    const request = new gateway.EndorseRequest();
    request.setTransactionId('txid');
    expect(messageFieldBytes(request.serializeBinary(), 3)).toBeUndefined();

    const first = signedProposal('proposal bytes', 'first signature').serializeBinary();
    const second = signedProposal('', 'second signature').serializeBinary();
    const writer = new BinaryWriter();
    writer.writeBytes(3, first);
    writer.writeBytes(3, second);
    const repeated = writer.getResultBuffer();
    expect(messageFieldBytes(repeated, 3)).toBeUndefined();
    // google-protobuf keeps the last occurrence (Go would merge): what the handler encodes when this is undefined.
    const decoded = gateway.EndorseRequest.deserializeBinary(repeated).getProposedTransaction();
    expect(decoded?.serializeBinary()).toEqual(second);
  });
});
