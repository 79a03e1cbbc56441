//! Huge pages under the heaps of allocation-heavy worker threads.
//!
//! Laying out all of vmlinux builds ~11 MB of small objects (members,
//! layouts, type names) on two threads. On 4 KiB pages that is ~2,700 page
//! faults, about a third of the run's CPU time. glibc gives each thread its
//! own arena: a 64 MiB-aligned reservation that it makes read-write a few
//! pages at a time as the arena grows. Three hints to glibc and the kernel
//! turn most of those faults into a handful of 2 MiB ones:
//!
//! 1. [`reserve_thread_arenas`]: new arenas start with 32 MiB read-write
//!    (`M_TOP_PAD`). That is address space only: a page costs memory when it
//!    is first written. Without it the arena's writable end moves a page at
//!    a time, and the kernel cannot put a huge page across that end.
//! 2. [`back_this_thread_with_huge_pages`] marks the calling thread's arena
//!    `MADV_HUGEPAGE`, for kernels whose transparent huge pages are in
//!    `madvise` mode (Debian's default).
//! 3. It then steps the thread's allocations past the arena's first 2 MiB.
//!    glibc wrote its bookkeeping there when it made the arena, so that
//!    stretch already has small pages, and every further page of it would
//!    be one more fault (512 per worker). The step is one allocation that
//!    is never written or freed: address space, not memory.
//!
//! All are hints. On another libc, without transparent huge pages, or if the
//! arena is not where glibc usually puts it, only the speed changes.

/// Read-write bytes a new glibc arena starts with.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_START: libc::c_int = 32 << 20;

/// Requests up to this size come from the arena, not their own mmap: the
/// step past the first huge page must (glibc's default starts at 128 KiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_FROM: libc::c_int = 4 << 20;

/// glibc's alignment and maximum size of a thread arena's heap on 64-bit
/// targets (`HEAP_MAX_SIZE`, twice the largest mmap threshold).
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
pub const ARENA_HEAP: usize = 64 << 20;

/// A transparent huge page on x86-64 and on arm64 with 4 KiB pages. Where
/// it is larger, the step past the first one is too short and changes
/// nothing.
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
pub const HUGE_PAGE: usize = 2 << 20;

/// Makes arenas created from now on start with [`ARENA_START`] bytes
/// read-write. Call before spawning the worker threads.
pub fn reserve_thread_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc tunables.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, ARENA_START);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_FROM);
    }
}

/// Asks the kernel to back the calling thread's glibc arena with huge pages,
/// and moves the thread's allocations past the arena's first huge page.
/// Call first thing in a spawned worker, after [`reserve_thread_arenas`];
/// does nothing on the main thread, whose arena lives below the program
/// break.
pub fn back_this_thread_with_huge_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    {
        // Larger than glibc's per-thread cache of freed chunks (1,032
        // bytes), so it comes from this thread's arena itself.
        let probe: Vec<u8> = Vec::with_capacity(4096);
        let at = probe.as_ptr() as usize;
        // SAFETY: sbrk(0) only reads the current program break.
        let brk = unsafe { libc::sbrk(0) } as usize;
        if at <= brk {
            // The main arena: its heap is the brk area, not an aligned heap.
            return;
        }
        let heap = at & !(ARENA_HEAP - 1);
        // SAFETY: MADV_HUGEPAGE changes no contents and no protection.
        let marked =
            unsafe { libc::madvise(heap as *mut libc::c_void, ARENA_HEAP, libc::MADV_HUGEPAGE) };
        if marked != 0 || at >= heap + HUGE_PAGE {
            return;
        }
        // Reaches from just past the probe to just past the first huge
        // page. Never written, never freed (see the module comment);
        // `black_box`, or the compiler drops an allocation nothing uses.
        let step = Vec::<u8>::with_capacity(heap + HUGE_PAGE - at);
        std::mem::forget(std::hint::black_box(step));
    }
}
