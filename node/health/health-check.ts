/**
 * What the node's health is made of: named checks, each telling whether its component works now and, when it does
 * not, why — the `failed_checks` of /healthz (Fabric's operations service shape) and the gRPC health statuses.
 */

/** A failing component and the reason an operator reads: `{"component":"ledger","reason":"…"}`. */
export interface FailedCheck {
  readonly component: string;
  readonly reason: string;
}

export interface HealthCheck {
  /** `ledger`, `chain-index`, `anchoring`. */
  readonly component: string;
  /** The reason the component fails at `now` (epoch ms), or undefined while it works. */
  check(now: number): string | undefined;
}
