//! A capture file read in place: its pages mapped into memory (mmap(2)), so
//! the kernel does not copy the file into a buffer first. Where the reading
//! shares the analysis' one core, that copy was a tenth of the CPU time (on
//! two cores it runs beside the analysis and costs no wall time, and the
//! mapping would cost resident memory: [`super::one_core`]).
//!
//! - The reader sees the file a window at a time ([`WINDOW`]). Each step
//!   first asks the file's size: a file cut short while kawatch reads it
//!   ends there, read as a truncated capture, as with read(2); a file that
//!   grew is mapped again and read on.
//! - The pages behind the reader are given back (madvise(2)
//!   `MADV_DONTNEED`), and the map asks for small pages
//!   (`MADV_NOHUGEPAGE`), so the process holds about a megabyte of the
//!   file, not all of it.
//! - A file cut inside the window already shown: a read of a page past
//!   its new end faults (SIGBUS). The handler here maps zeros over the rest
//!   of the mapping, notes where they start, and returns, so the reader
//!   reads zeros where the file ended. A pcap record header of zero lengths,
//!   or a pcapng block that is not whole (its two lengths differ) or not
//!   valid, makes the reader ask (`FileReader`'s `cut_at`) whether the file
//!   now ends, or zeros stand, before the end of what it parses: then it
//!   ends the file as truncated (the report of what was read, with a
//!   warning naming the bytes past the cut read since the size was last
//!   checked, which may have been read as zeros), even if the file has
//!   grown back since. Should the system refuse the zeros' memory, the
//!   handler ends kawatch with a message (exit status 3). Standard input is
//!   never mapped.

// The OS calls here need unsafe: mmap(2) and madvise(2) on a file (through
// memmap2), and sigaction(2) for the SIGBUS handler.
#![allow(unsafe_code)]

use memmap2::{Mmap, UncheckedAdvice};
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Bytes the reader is shown past what it asked for, at each step.
const WINDOW: usize = 256 << 10;

/// Pages are given back in multiples of this (a multiple of every page size
/// Linux uses: 4, 16 and 64 KiB).
const GIVE_BACK: usize = 64 << 10;

/// A regular file's bytes, mapped.
pub(crate) struct Mapping {
    file: File,
    map: Mmap,
    /// The pages below this offset were given back.
    given_back: usize,
    /// This mapping's slot in [`REGIONS`], if it got one.
    region: Option<usize>,
    /// Where the reader was when the size was last checked: what it read
    /// before, it read while the file held it.
    checked_at: usize,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("len", &self.map.len())
            .field("given_back", &self.given_back)
            .finish_non_exhaustive()
    }
}

impl Mapping {
    /// `file` mapped, when it is a regular file with bytes in it; `None`
    /// for anything else (or a map the system refuses): read it instead.
    pub(crate) fn new(file: &File) -> Option<Mapping> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() == 0 {
            return None;
        }
        let file = file.try_clone().ok()?;
        install_handler();
        // SAFETY: the map is only read. Were the file cut short under it, a
        // read past its new end faults (SIGBUS) rather than reading freed
        // memory: the size is checked before each window is shown
        // (`advance`), and `on_sigbus` puts zeros in the place of what was
        // cut inside a window already shown.
        let map = unsafe { Mmap::map(&file) }.ok()?;
        small_pages(&map);
        // (Unregistered, a cut would end the process: read it instead.)
        let region = Some(register(&map)?);
        Some(Mapping {
            file,
            map,
            given_back: 0,
            region,
            checked_at: 0,
        })
    }

    /// The file's bytes (only up to what [`Mapping::advance`] showed are read).
    #[inline(always)]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The file's size now.
    pub(crate) fn size_now(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Where zeros stand in for the file's pages, from here on: a read
    /// faulted there after the file was cut short (`usize::MAX`: nowhere).
    /// They stay even if the file grows back.
    pub(crate) fn zeroed_from(&self) -> usize {
        self.region
            .map_or(usize::MAX, |i| ZEROED[i].load(Ordering::Acquire))
    }

    /// Where the reader was when the file's size was last checked (by
    /// [`Mapping::advance`]): the bytes it read before were read while the
    /// file held them.
    pub(crate) fn checked_at(&self) -> usize {
        self.checked_at
    }

    /// The end of the bytes to show the reader, which asks for those below
    /// `want` and has parsed those below `parsed`: `want` and up to a
    /// [`WINDOW`] past it where the file has them, fewer where it ends
    /// first. Gives back the pages below `parsed`.
    pub(crate) fn advance(&mut self, parsed: usize, want: usize) -> io::Result<usize> {
        let behind = parsed / GIVE_BACK * GIVE_BACK;
        if behind > self.given_back {
            // SAFETY: nothing refers to these bytes any more (a frame's
            // bytes are lent only until the next read); and were one
            // still, the page would be read again from the file.
            let done = unsafe {
                self.map.unchecked_advise_range(
                    UncheckedAdvice::DontNeed,
                    self.given_back,
                    behind - self.given_back,
                )
            };
            // (A refusal only keeps the pages.)
            if done.is_ok() {
                self.given_back = behind;
            }
        }
        let size = usize::try_from(self.file.metadata()?.len()).unwrap_or(usize::MAX);
        self.checked_at = parsed;
        if want > self.map.len() && size > self.map.len() {
            // Grown since mapped: map it again (its pages below `behind`
            // are not touched, so not held).
            // SAFETY: as in `Mapping::new`.
            let map = unsafe { Mmap::map(&self.file) }?;
            small_pages(&map);
            unregister(self.region.take());
            // (Were there no slot now, the registry holds 16 other maps.)
            self.region =
                Some(register(&map).ok_or_else(|| io::Error::other("too many files mapped"))?);
            self.map = map;
        }
        Ok(size.min(self.map.len()).min(want.saturating_add(WINDOW)))
    }
}

/// Asks that `map` be mapped in small pages: a fault then maps the pages
/// around it, not a whole large folio of the page cache (up to 2 MiB more
/// held at a time, measured).
fn small_pages(map: &Mmap) {
    // (A refusal only costs memory.)
    let _ = map.advise(memmap2::Advice::NoHugePage);
}

impl Drop for Mapping {
    fn drop(&mut self) {
        unregister(self.region.take());
    }
}

/// The mappings live now, as (start, length), for the SIGBUS handler to
/// tell a fault in one of them from any other; (0, 0) for a free slot.
static REGIONS: [(AtomicUsize, AtomicUsize); 16] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 16];

/// Per slot of [`REGIONS`]: the offset from which [`on_sigbus`] mapped
/// zeros over the file's pages (`usize::MAX`: none).
static ZEROED: [AtomicUsize; 16] = [const { AtomicUsize::new(usize::MAX) }; 16];

fn register(map: &Mmap) -> Option<usize> {
    let start = map.as_ptr() as usize;
    let slot = REGIONS.iter().position(|(s, _)| {
        s.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })?;
    ZEROED[slot].store(usize::MAX, Ordering::Release);
    REGIONS[slot].1.store(map.len(), Ordering::Release);
    Some(slot)
}

fn unregister(slot: Option<usize>) {
    if let Some(i) = slot {
        REGIONS[i].1.store(0, Ordering::Release);
        REGIONS[i].0.store(0, Ordering::Release);
    }
}

/// The system's page size, for [`on_sigbus`].
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// Installs [`on_sigbus`], once.
fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sysconf has no preconditions; a zeroed sigaction is a
        // valid one to fill, and the handler only makes calls that are
        // safe in a signal handler (mmap, signal, raise, write, _exit) and
        // lock-free atomic ones.
        unsafe {
            if let Ok(page) = usize::try_from(libc::sysconf(libc::_SC_PAGESIZE)) {
                PAGE.store(page, Ordering::Relaxed);
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &raw const action, std::ptr::null_mut());
        }
    });
}

/// A read of a mapped capture past the end of a file cut short: zeros are
/// mapped from the faulting page to the mapping's end, and the read goes on
/// (the reader then finds the cut: the module's docs). Any other bus error,
/// or a SIGBUS sent by a process, gets the default action back and is
/// raised again.
extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SIGBUS.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    // (A fault's code is positive; a SIGBUS sent by a process is not.)
    let region = REGIONS.iter().enumerate().find_map(|(i, (s, l))| {
        let (s, l) = (s.load(Ordering::Acquire), l.load(Ordering::Acquire));
        (code > 0 && s != 0 && addr >= s && addr - s < l).then_some((i, s, l))
    });
    let Some((slot, start, len)) = region else {
        // SAFETY: setting the default disposition and raising are safe in a
        // signal handler; a fault would also recur on return.
        unsafe {
            libc::signal(libc::SIGBUS, libc::SIG_DFL);
            libc::raise(libc::SIGBUS);
        }
        return;
    };
    let page = addr & !(PAGE.load(Ordering::Relaxed) - 1);
    // SAFETY: [page, start + len) lies in the mapping, which only the
    // reading thread reads, and only as bytes: anonymous zero pages in its
    // place are bytes too.
    let zeros = unsafe {
        libc::mmap(
            page as *mut libc::c_void,
            start + len - page,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    // (Lock-free: safe in a signal handler.)
    ZEROED[slot].fetch_min(page - start, Ordering::AcqRel);
    if zeros == libc::MAP_FAILED {
        const MSG: &[u8] = b"kawatch: error: the capture file was cut short while kawatch \
read it, and no memory was left to read on; run again once nothing writes to it\n";
        // SAFETY: write(2) and _exit(2) are safe in a signal handler.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the test `name` alone in a child process of this test binary,
    /// with `var` set to `dir`: the test's own child part (a process that
    /// faults, or whose registry no other test shares).
    fn in_child(name: &str, var: &str, dir: &std::path::Path) -> std::process::Output {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(var, dir)
            .output()
            .unwrap()
    }

    /// Set in the child process of [`a_bus_error_elsewhere_keeps_its_default_action`].
    const CHILD: &str = "KAWATCH_TEST_SIGBUS_CHILD";

    /// A bus error outside any mapped capture (here a map of a file cut
    /// short, made without [`Mapping`]) is not taken for one: with the
    /// handler installed, the process still dies of SIGBUS. (Run in a
    /// child process.)
    #[test]
    fn a_bus_error_elsewhere_keeps_its_default_action() {
        use std::os::unix::process::ExitStatusExt;
        let name = "capture::mapped::tests::a_bus_error_elsewhere_keeps_its_default_action";
        if let Some(dir) = std::env::var_os(CHILD) {
            let dir = std::path::Path::new(&dir);
            let ours = File::open(dir.join("ours")).unwrap();
            let _m = Mapping::new(&ours).expect("maps, and installs the handler");
            let path = dir.join("other");
            let other = File::open(&path).unwrap();
            // SAFETY: the test means to fault.
            let map = unsafe { Mmap::map(&other) }.unwrap();
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(0)
                .unwrap();
            let byte = std::hint::black_box(map[100]);
            panic!("read {byte} past the file's end");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ours"), [1u8; 8192]).unwrap();
        std::fs::write(dir.path().join("other"), [2u8; 8192]).unwrap();
        let out = in_child(name, CHILD, dir.path());
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGBUS),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Set in the child process of [`a_file_past_the_registry_is_read_not_mapped`].
    const CHILD_MANY: &str = "KAWATCH_TEST_MANY_MAPPINGS";

    /// With every slot of the registry taken, a file is not mapped (a cut
    /// in it would end the process): it is read. (In a child process, whose
    /// registry no other test shares.)
    #[test]
    fn a_file_past_the_registry_is_read_not_mapped() {
        let name = "capture::mapped::tests::a_file_past_the_registry_is_read_not_mapped";
        if let Some(dir) = std::env::var_os(CHILD_MANY) {
            let path = std::path::Path::new(&dir).join("capture");
            let file = File::open(path).unwrap();
            let held: Vec<Mapping> = (0..REGIONS.len())
                .map(|i| Mapping::new(&file).unwrap_or_else(|| panic!("mapping {i}")))
                .collect();
            assert!(Mapping::new(&file).is_none(), "no slot left");
            drop(held);
            assert!(Mapping::new(&file).is_some(), "slots given back");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("capture"), [1u8; 4096]).unwrap();
        let out = in_child(name, CHILD_MANY, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
    }

    /// The registry holds a live mapping and not a dropped one; a directory
    /// and an empty file are not mapped.
    #[test]
    fn only_a_live_mapping_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture");
        std::fs::write(&path, [1u8; 4096]).unwrap();
        let file = File::open(&path).unwrap();
        let m = Mapping::new(&file).expect("maps");
        let start = m.bytes().as_ptr() as usize;
        let held = |start: usize| {
            REGIONS.iter().any(|(s, l)| {
                s.load(Ordering::Acquire) == start && l.load(Ordering::Acquire) == 4096
            })
        };
        assert!(held(start));
        drop(m);
        assert!(!held(start));
        assert!(
            Mapping::new(&File::open(dir.path()).unwrap()).is_none(),
            "a directory"
        );
        std::fs::write(&path, []).unwrap();
        assert!(
            Mapping::new(&File::open(&path).unwrap()).is_none(),
            "an empty file"
        );
    }
}
