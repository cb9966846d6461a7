// The trust domains whose identities a policy accepts as callers: its own `trustDomain` and those
// of `federatesWith` (docs/internals.md §1-2). An ID of any other trust domain is an
// unauthenticated caller (foreign_trust_domain, sources.ts), whatever the source.
//
//   const d = new TrustDomains(ptrs, lens);   // bare names, own first; views must outlive d
//   d.admits(id)                               // authenticated and of one of them
import { Identity } from "./identity";

export class TrustDomains {
  private readonly ptrs: StaticArray<usize>;
  private readonly lens: StaticArray<i32>;

  constructor(ptrs: usize[], lens: i32[]) {
    this.ptrs = StaticArray.fromArray<usize>(ptrs);
    this.lens = StaticArray.fromArray<i32>(lens);
  }

  /** Whether `id` is authenticated and of one of the trust domains (the own one is tried first). */
  admits(id: Identity): bool {
    for (let k = 0; k < this.ptrs.length; k++) {
      if (id.inTrustDomain(unchecked(this.ptrs[k]), unchecked(this.lens[k]))) return true;
    }
    return false;
  }
}
