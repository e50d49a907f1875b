//! Which large allocations are actually resident.
//!
//! An allocation costs RSS only for the pages that were touched: a 64 KiB
//! buffer of which one read used 100 octets costs one 4 KiB page, until
//! something fills it. When enabled (`server --residency`),
//! [`CountingAlloc`](super::mem::CountingAlloc) records the address, size and
//! kind (plain or zeroed) of every live allocation of at least
//! [`TRACK_MIN`] octets in a fixed table (no allocation of its own), and
//! [`snapshot`] groups them by size and kind and asks `/proc/self/pagemap`
//! which of their pages are present, counting the octets of each
//! allocation that lie in present pages. Allocations are told apart by size
//! only; see the report for which size is which buffer.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Result;

/// Smallest allocation tracked, in octets.
pub const TRACK_MIN: usize = 1024;

/// Page size assumed for `/proc/self/pagemap` (x86-64 and most aarch64
/// Linux builds).
pub const PAGE: usize = 4096;

const SLOTS_LOG2: u32 = 17;
const SLOTS: usize = 1 << SLOTS_LOG2;
/// A slot whose allocation was freed; lookups go on past it.
const TOMBSTONE: usize = 1;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Allocations not tracked because the table was full.
static DROPPED: AtomicUsize = AtomicUsize::new(0);
/// Slot `i` is `ADDRS[i]` (0: never used, [`TOMBSTONE`]: freed) with
/// `META[i]` = size << 1 | zeroed.
static ADDRS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static META: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

/// Starts tracking allocations made from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Whether tracking is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn first_slot(addr: usize) -> usize {
    ((addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS_LOG2)) as usize
}

/// Records a new allocation (called by the allocator, after it succeeded).
pub(crate) fn on_alloc(addr: usize, size: usize, zeroed: bool) {
    if size < TRACK_MIN || !enabled() {
        return;
    }
    let mut slot = first_slot(addr);
    for _ in 0..SLOTS {
        let current = ADDRS[slot].load(Ordering::Relaxed);
        if (current == 0 || current == TOMBSTONE)
            && ADDRS[slot]
                .compare_exchange(current, addr, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            META[slot].store(size << 1 | usize::from(zeroed), Ordering::Release);
            return;
        }
        slot = (slot + 1) & (SLOTS - 1);
    }
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Forgets an allocation (called by the allocator, before freeing it). An
/// address is in the table at most once: it is forgotten before it is
/// freed, and recorded only after it was handed out again.
pub(crate) fn on_dealloc(addr: usize, size: usize) {
    if size < TRACK_MIN || !enabled() {
        return;
    }
    let mut slot = first_slot(addr);
    for _ in 0..SLOTS {
        match ADDRS[slot].load(Ordering::Acquire) {
            0 => return,
            a if a == addr => {
                META[slot].store(0, Ordering::Relaxed);
                ADDRS[slot].store(TOMBSTONE, Ordering::Release);
                return;
            }
            _ => slot = (slot + 1) & (SLOTS - 1),
        }
    }
}

/// The live tracked allocations of one size and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeClass {
    /// Size of each allocation, in octets.
    pub size: usize,
    /// Whether they were allocated zeroed (`calloc`, e.g. `vec![0; n]`).
    pub zeroed: bool,
    /// How many are live.
    pub count: usize,
    /// Octets of them lying in resident pages.
    pub resident: u64,
}

/// Octets of `[addr, addr + size)` lying in pages present in memory.
fn resident_octets(pagemap: &File, addr: usize, size: usize) -> Result<u64> {
    let (first, last) = (addr / PAGE, (addr + size - 1) / PAGE);
    let mut entries = vec![0u8; (last - first + 1) * 8];
    pagemap.read_exact_at(&mut entries, (first * 8) as u64)?;
    let mut resident = 0;
    for (i, entry) in entries.chunks_exact(8).enumerate() {
        let entry = u64::from_le_bytes(entry.try_into().unwrap_or_default());
        // Bit 63: present in RAM.
        if entry >> 63 == 1 {
            let page = (first + i) * PAGE;
            let start = page.max(addr);
            let end = (page + PAGE).min(addr + size);
            resident += (end - start) as u64;
        }
    }
    Ok(resident)
}

/// The live tracked allocations, grouped by size and kind, largest total
/// first, with how much of each group is resident.
pub fn snapshot() -> Result<Vec<SizeClass>> {
    let pagemap = File::open("/proc/self/pagemap")
        .map_err(|e| format!("cannot open /proc/self/pagemap: {e}"))?;
    let mut classes: Vec<SizeClass> = Vec::new();
    for slot in 0..SLOTS {
        let addr = ADDRS[slot].load(Ordering::Acquire);
        let meta = META[slot].load(Ordering::Acquire);
        if addr <= TOMBSTONE || meta == 0 {
            continue;
        }
        let (size, zeroed) = (meta >> 1, meta & 1 == 1);
        let resident = resident_octets(&pagemap, addr, size)?;
        match classes
            .iter_mut()
            .find(|c| c.size == size && c.zeroed == zeroed)
        {
            Some(class) => {
                class.count += 1;
                class.resident += resident;
            }
            None => classes.push(SizeClass {
                size,
                zeroed,
                count: 1,
                resident,
            }),
        }
    }
    classes.sort_by_key(|c| std::cmp::Reverse(c.size * c.count));
    Ok(classes)
}

/// Allocations that could not be tracked (table full).
pub fn dropped() -> usize {
    DROPPED.load(Ordering::Relaxed)
}
