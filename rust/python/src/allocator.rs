//! The process's allocator: mimalloc, called the way its size classes want.
//!
//! Rows are decoded on one thread and freed on another; glibc's allocator serialises that on
//! an arena lock, mimalloc does not (bench/: the file scenario went from 0.8 to 1.2 million
//! rows/s).
//!
//! The `mimalloc` crate's allocator passes every request to `mi_malloc_aligned`. In mimalloc
//! 3 that takes its fast path only while the size class's page has a free block at hand; else
//! a size that is not a power of two (a 24- or 48-byte `Arc`, a row's map) is over-allocated
//! into the next class and its page is marked as holding interior pointers, which slows every
//! later free there. Rows are freed on another thread than the one that made them, so pages
//! run dry often. Every size class of mimalloc is a multiple of 8 (of 16 from 16 bytes up)
//! and a page's first block is 16-aligned, so a plain `mi_malloc` already satisfies any
//! alignment up to 16 that divides the size: such requests go there, the rest (rare) keep the
//! aligned calls. Measured in bench/README.md.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{c_int, c_long, c_void};

use libmimalloc_sys as mi;

/// `MI_MAX_ALIGN_SIZE`: the alignment mimalloc's size classes give for free.
const NATURAL_ALIGN: usize = 16;

pub struct MiMalloc;

// mimalloc's option calls, which libmimalloc-sys binds only with a feature that brings
// another crate along; the C library it builds has them either way.
unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
}

/// mimalloc 3's `page_reclaim_on_free` option: its index in `mi_option_t`.
const PAGE_RECLAIM_ON_FREE: c_int = 35;

/// Settings for how the engine uses memory, applied once when the module loads.
///
/// A page of rows fills up on the decoding thread and is freed, block by block, on the
/// rule's. By default mimalloc 3 lets only the page's own thread take such a page back, so
/// every one of those frees went the slow cross-thread way (bench/README.md: a third of the
/// rule thread's allocator time). Letting the freeing thread adopt the page keeps its frees
/// local. A user's own `MIMALLOC_PAGE_RECLAIM_ON_FREE` wins.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PAGE_RECLAIM_ON_FREE").is_none() {
        // SAFETY: setting an option is safe at any time; the index names a valid option.
        unsafe { mi_option_set(PAGE_RECLAIM_ON_FREE, 1) }
    }
}

#[inline]
fn natural(align: usize, size: usize) -> bool {
    align <= NATURAL_ALIGN && size % align == 0
}

// SAFETY: every call keeps GlobalAlloc's contract by handing it to mimalloc's matching
// function; the plain functions are used only where their alignment covers the layout's (see
// the module's comment), and `mi_free` frees blocks of either kind.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc takes any size; the result is null or a block of `layout`.
        unsafe {
            if natural(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            if natural(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which only hands out mimalloc blocks.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a mimalloc block of `layout`; the new block keeps its alignment.
        unsafe {
            if natural(layout.align(), new_size) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
    }

    /// The option's index is the one mimalloc's header gives it: it reads back as set.
    #[test]
    fn tuning_sets_page_reclaim_on_free() {
        if std::env::var_os("MIMALLOC_PAGE_RECLAIM_ON_FREE").is_some() {
            return;
        }
        tune();
        // SAFETY: reading an option is safe at any time.
        assert_eq!(unsafe { mi_option_get(PAGE_RECLAIM_ON_FREE) }, 1);
        // Its neighbours keep their defaults: the index is not off by one.
        assert_eq!(unsafe { mi_option_get(PAGE_RECLAIM_ON_FREE + 1) }, 2);
    }

    /// Every size and alignment a Rust program asks for comes back aligned, whichever of
    /// mimalloc's functions served it, and survives growing and shrinking.
    #[test]
    fn blocks_have_the_alignment_their_layout_asks_for() {
        let allocator = MiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=300).chain([1000, 4096, 65536, 1 << 20]) {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: the layout has a non-zero size; each block is freed once, by us.
                unsafe {
                    let p = allocator.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                    p.write_bytes(0xAB, size);
                    let grown = allocator.realloc(p, layout, size * 3);
                    assert_eq!(grown as usize % align, 0, "realloc to {}", size * 3);
                    assert_eq!(*grown.add(size - 1), 0xAB);
                    let shrunk = allocator.realloc(grown, layout, size.div_ceil(2));
                    assert_eq!(shrunk as usize % align, 0);
                    allocator.dealloc(shrunk, layout);
                    let z = allocator.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    allocator.dealloc(z, layout);
                }
            }
        }
    }
}
