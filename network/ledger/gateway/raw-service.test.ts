import { gateway, peer } from '@hyperledger/fabric-protos';
import { BinaryWriter } from 'google-protobuf';
import { describe, expect, it } from 'vitest';
import { messageFieldBytes, readMessageField } from './raw-service.ts';

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

describe('readMessageField', () => {
  const REQUEST = { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes' } as const;
  const SIGNED = { 1: 'bytes', 2: 'bytes' } as const;

  it('gives what messageFieldBytes gives, with the field read, for a request google-protobuf decodes', () => {
    const request = new gateway.EndorseRequest();
    request.setTransactionId('txid');
    request.setProposedTransaction(signedProposal('proposal bytes', 'signature'));
    request.setEndorsingOrganizationsList(['Org1MSP', 'Org2MSP']);
    const bytes = request.serializeBinary();
    const read = readMessageField(bytes, REQUEST, 3, SIGNED);
    expect(read?.bytes).toEqual(messageFieldBytes(bytes, 3));
    expect(read?.fields.all(2)).toEqual([new Uint8Array(Buffer.from('signature'))]);
  });

  it('is undefined for what it leaves to the full decode: absent, repeated, malformed inside or out', () => {
    const field = signedProposal('proposal bytes', 'signature').serializeBinary();
    const writer = (write: (w: BinaryWriter) => void): Uint8Array => {
      const w = new BinaryWriter();
      write(w);
      return w.getResultBuffer();
    };
    const cases = [
      writer((w) => {
        w.writeString(1, 'txid');
      }),
      writer((w) => {
        w.writeBytes(3, field);
        w.writeBytes(3, field);
      }),
      writer((w) => {
        w.writeBytes(3, Buffer.from([0x0a, 0x05]));
      }),
      writer((w) => {
        w.writeInt32(1, 5);
      }),
      Buffer.concat([
        writer((w) => {
          w.writeBytes(3, field);
        }),
        Buffer.from([0x22, 0x05]),
      ]),
    ];
    for (const bytes of cases) expect(readMessageField(bytes, REQUEST, 3, SIGNED)).toBeUndefined();
  });
});
