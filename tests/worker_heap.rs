//! `worker_heap` on this machine's glibc and kernel. Its own test binary
//! with one test: glibc hands a new thread an arena an exited thread left
//! behind, so among other tests' threads the arena's state would be theirs.

#![cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]

use bpfcase::worker_heap::{self, ARENA_HEAP, HUGE_PAGE};

/// The `VmFlags` line of the mapping holding `addr`, from /proc/self/smaps.
fn vm_flags_of(addr: usize) -> String {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let mut inside = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().and_then(|r| {
            let (start, end) = r.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        });
        // A mapping's header line starts with its `start-end` range.
        if let Some((start, end)) = range {
            inside = (start..end).contains(&addr);
        } else if inside {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.to_string();
            }
        }
    }
    panic!("no mapping in /proc/self/smaps holds {addr:#x}");
}

#[test]
fn a_worker_allocates_past_the_first_huge_page_of_an_arena_marked_for_them() {
    if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
        eprintln!("SKIPPED: this kernel has no transparent huge pages");
        return;
    }
    worker_heap::reserve_thread_arenas();
    let (at, flags) = std::thread::spawn(|| {
        worker_heap::back_this_thread_with_huge_pages();
        // Larger than the probe `back_this_thread_with_huge_pages` freed,
        // so it cannot reuse that chunk.
        let probe: Vec<u8> = Vec::with_capacity(8192);
        let at = probe.as_ptr() as usize;
        (at, vm_flags_of(at))
    })
    .join()
    .expect("probe thread");
    assert!(
        at % ARENA_HEAP >= HUGE_PAGE,
        "the worker's allocation at {at:#x} is still in its arena's first huge page"
    );
    assert!(
        flags.split_whitespace().any(|f| f == "hg"),
        "the worker's allocation at {at:#x} is in a mapping without MADV_HUGEPAGE (VmFlags:{flags})"
    );
}
