/**
 * Who is looking, and what they may see. A viewer is a consortium member identified by the client certificate of
 * a mutual-TLS connection to the operations endpoint (the same CallerAuthenticator, CAs and registered roles as
 * the gRPC API), or, only where `explorer.public` is set, the public. The public sees the read-only views (the
 * registry, anchoring, where a record's evidence stands); attestations follow the API's own policy for
 * AttestationService.Attest; the audit is for the regulator's own users on the regulator's node.
 */
import type { PeerCertificate } from 'node:tls';
import type { OrgRole } from '../../network/pki/index.ts';
import { authorize, DEFAULT_POLICY, NodeError, type Caller, type CallerAuthenticator } from '../api/index.ts';
import { ExplorerError, unavailableOf } from './errors.ts';

export type Viewer = { readonly kind: 'public' } | { readonly kind: 'member'; readonly caller: Caller };

/** What a page asks of the data API. */
export type ExplorerAction = 'consortium' | 'record' | 'trust-bundle' | 'attestation' | 'audit';

/** The node serving the explorer. */
export interface ServingNode {
  readonly mspId: string;
  readonly role: OrgRole;
}

export interface ViewerResolverOptions {
  readonly authenticator: Pick<CallerAuthenticator, 'authenticate'>;
  /** `explorer.public`: a request without a certificate is the public, instead of refused. */
  readonly public: boolean;
}

/**
 * The viewer behind a request's connection: its peer certificate (undefined on plain HTTP or when none was sent).
 * @throws ExplorerError `UNAUTHENTICATED` without a valid certificate unless public; `PERMISSION_DENIED` for a
 * certificate of an organisation that is not an active member.
 */
export async function resolveViewer(
  options: Readonly<ViewerResolverOptions>,
  peer: PeerCertificate | undefined,
): Promise<Viewer> {
  // getPeerCertificate() gives `{}` when no certificate was sent: its `raw` is then absent whatever the type says.
  const presented = peer !== undefined && (peer.raw as Buffer | undefined) !== undefined;
  if (!presented) {
    if (options.public) return { kind: 'public' };
    throw new ExplorerError(
      'UNAUTHENTICATED',
      'the explorer is served to consortium members over mutual TLS (operations.tls) and is not public ' +
        '(explorer.public): present a client certificate from a consortium TLS CA',
    );
  }
  try {
    return { kind: 'member', caller: await options.authenticator.authenticate(peer) };
  } catch (err) {
    if (err instanceof NodeError && (err.code === 'UNAUTHENTICATED' || err.code === 'PERMISSION_DENIED')) {
      throw new ExplorerError(err.code, err.message, { cause: err });
    }
    // The viewer's role from a registry the ledger does not give now (registered-roles.ts): ask again, not a fault.
    throw unavailableOf(err) ?? err;
  }
}

/** @throws ExplorerError `UNAUTHENTICATED` (public asking for a member's view) or `PERMISSION_DENIED`. */
export function authorizeView(action: ExplorerAction, viewer: Viewer, node: ServingNode): void {
  // Public by nature: the registry's names and keys, and the channel's CA certificates.
  if (action === 'consortium' || action === 'record' || action === 'trust-bundle') return;
  if (viewer.kind === 'public') {
    throw new ExplorerError('UNAUTHENTICATED', `the ${action} is for consortium members: present a client certificate`);
  }
  const { caller } = viewer;
  if (action === 'attestation') {
    try {
      authorize(DEFAULT_POLICY, 'AttestationService.Attest', caller, node.mspId);
    } catch (err) {
      if (err instanceof NodeError) throw new ExplorerError('PERMISSION_DENIED', err.message, { cause: err });
      throw err;
    }
    return;
  }
  if (node.role !== 'regulator') {
    throw new ExplorerError('PERMISSION_DENIED', `the audit is served by the regulator's node, not ${node.mspId}'s`);
  }
  if (caller.role !== 'regulator' || caller.mspId !== node.mspId) {
    throw new ExplorerError(
      'PERMISSION_DENIED',
      `the audit is the regulator's: role "${caller.role}" (${caller.mspId}) may not see accesses`,
    );
  }
}

/** Whether `viewer` may see `action` (authorizeView without the refusal): what a page offers, it may follow. */
export function mayView(action: ExplorerAction, viewer: Viewer, node: ServingNode): boolean {
  try {
    authorizeView(action, viewer, node);
    return true;
  } catch (err) {
    if (err instanceof ExplorerError) return false;
    throw err;
  }
}
