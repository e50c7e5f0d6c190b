/** A TLS client certificate and its key written open to other users (0644): what the key file rules refuse. */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueCertificate } from '../../network/pki/index.ts';

export async function exposedTlsPair(dir: string): Promise<{ cert: string; key: string }> {
  const subject = { commonName: 'User1', organization: 'ShanghaiBankMSP', locality: 'Shanghai' };
  const pair = await issueCertificate({ subject, profile: { kind: 'tls-client' } });
  const [cert, key] = [join(dir, 'exposed.crt'), join(dir, 'exposed.key')];
  await writeFile(cert, pair.certificatePem);
  await writeFile(key, pair.privateKeyPem);
  await chmod(key, 0o644);
  return { cert, key };
}
