/** The policy document's enumerations (docs/design.md §3), shared by the model and the field table. */

export type Action = 'allow' | 'deny';
export type Mode = 'enforce' | 'audit';
export type IdentitySource = 'peer-certificate' | 'xfcc' | 'local';
export type Role = 'inbound' | 'egress';
/** An egress rule's `tunnel`: what a CONNECT tunnel it allows may carry (default `tls`). */
export type Tunnel = 'tls' | 'any';
