// The scratch arena: where the host puts the data it returns (header values, properties, the
// plugin configuration), through our `malloc` export.
//
// The ABI makes the guest own every block the host asks its allocator for, and the host never
// frees one. Instead of tracking those blocks, meshgate hands the host bump-allocated memory from
// one unmanaged region (heap.alloc, invisible to the GC) and forgets all of it at once:
//
//   LIFETIME RULE: dispatch.ts calls resetScratch() on entry to every export the host calls, so
//   a view filled during a callback (a `Bytes`) is valid until that callback returns, and not
//   one instruction longer. Copy whatever must outlive the callback.
//
// Consequences: nothing the host allocates can leak, on any path (early return, error value,
// abort); reading a value costs a pointer bump; and a request allocates no memory at all once the
// region is large enough. A request that needs more than the region gets extra blocks (a chain
// of heap.alloc'd blocks, freed at the next reset); the region then grows at that reset, up to
// MAX_REGION, so the same peak fits next time. Wasm memory never shrinks, so the peak is the
// footprint anyway.

const INITIAL_REGION: usize = 16 * 1024;
const MAX_REGION: usize = 1024 * 1024;
const ALIGN_MASK: usize = 7;
/** Each overflow block starts with the address of the previous one. */
const LINK: usize = 8;

let regionBase: usize = 0;
let regionSize: usize = 0;
let regionTop: usize = 0;
let overflowHead: usize = 0;
/** Bytes handed out since the last reset (region + overflow): the demand the region should meet. */
let demand: usize = 0;

/** The allocator behind the `malloc` export. Never returns 0 (a failed heap.alloc traps). */
export function scratchAlloc(size: usize): usize {
  if (regionBase == 0) {
    regionBase = heap.alloc(INITIAL_REGION);
    regionSize = INITIAL_REGION;
  }
  const aligned = (size + ALIGN_MASK) & ~ALIGN_MASK;
  demand += aligned;
  if (aligned <= regionSize - regionTop) {
    const p = regionBase + regionTop;
    regionTop += aligned;
    return p;
  }
  const block = heap.alloc(LINK + aligned);
  store<usize>(block, overflowHead);
  overflowHead = block;
  return block + LINK;
}

/** Forgets every block of the previous callback. Called by dispatch.ts on entry to each export. */
export function resetScratch(): void {
  regionTop = 0;
  if (overflowHead == 0) {
    demand = 0;
    return;
  }
  let block = overflowHead;
  while (block != 0) {
    const previous = load<usize>(block);
    heap.free(block);
    block = previous;
  }
  overflowHead = 0;
  if (demand > regionSize && regionSize < MAX_REGION) {
    let size = regionSize;
    while (size < demand && size < MAX_REGION) size <<= 1;
    heap.free(regionBase);
    regionBase = heap.alloc(size);
    regionSize = size;
  }
  demand = 0;
}

/** Size of the region now (for tests and diagnostics). */
export function scratchRegionSize(): usize {
  return regionSize;
}
