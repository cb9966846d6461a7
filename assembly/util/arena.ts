// Arena: unmanaged memory for tables built once (a compiled policy) and freed all at once.
//
// Blocks come from `heap.alloc` (TLSF), so the GC never scans them; `dispose()` returns every
// block, so replacing a policy on re-configure does not grow memory. Allocations are 8-byte
// aligned and zero-filled. Pointers stay valid until `dispose()`.
//
// Block layout: [next: usize][pad to 8][payload...]. Large requests get a block of their own.

const BLOCK_SIZE: usize = 64 * 1024;
const HEADER: usize = 8;

export class Arena {
  private head: usize = 0; // most recent block
  private cur: usize = 0;  // bump pointer inside `head`
  private end: usize = 0;
  /** Bytes handed out (payload), for diagnostics. */
  bytes: usize = 0;

  /** Zero-filled, 8-byte aligned block of `size` bytes, valid until dispose(). */
  alloc(size: usize): usize {
    size = (size + 7) & ~<usize>7;
    if (size == 0) size = 8;
    this.bytes += size;
    if (this.cur + size <= this.end && this.head != 0) {
      const p = this.cur;
      this.cur += size;
      memory.fill(p, 0, size);
      return p;
    }
    if (size > BLOCK_SIZE / 4) {
      // A dedicated block, linked behind the current head so the bump block stays in use.
      const blk = heap.alloc(HEADER + size);
      memory.fill(blk + HEADER, 0, size);
      if (this.head == 0) {
        store<usize>(blk, 0);
        this.head = blk;
        this.cur = this.end = blk + HEADER + size;
      } else {
        store<usize>(blk, load<usize>(this.head));
        store<usize>(this.head, blk);
      }
      return blk + HEADER;
    }
    const blk = heap.alloc(HEADER + BLOCK_SIZE);
    store<usize>(blk, this.head);
    this.head = blk;
    this.cur = blk + HEADER + size;
    this.end = blk + HEADER + BLOCK_SIZE;
    const p = blk + HEADER;
    memory.fill(p, 0, size);
    return p;
  }

  /** Copies [src, src+len) into the arena. */
  dup(src: usize, len: i32): usize {
    const p = this.alloc(<usize>len);
    memory.copy(p, src, <usize>len);
    return p;
  }

  /** Frees every block. The arena can be reused afterwards. */
  dispose(): void {
    let b = this.head;
    while (b != 0) {
      const next = load<usize>(b);
      heap.free(b);
      b = next;
    }
    this.head = this.cur = this.end = 0;
    this.bytes = 0;
  }
}
