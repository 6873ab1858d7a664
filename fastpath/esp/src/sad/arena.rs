//! Where a SAD's SAs live: packed in chunks of [`CHUNK_SAS`] SAs, each chunk one allocation
//! marked for transparent huge pages. With 100,000 SAs (1.8 KiB each, keys inline) boxed one
//! by one on 4 KiB pages, nearly every packet's SA was a TLB miss as well as cache misses; in
//! 2 MiB pages the TLB covers them. Packed (a removal moves the last SA into the hole), so
//! that a position holds an SA whenever it is below the length: finding one reads no flag in
//! the SA itself, which would be a line more to wait for.

use crate::sa::{Sa, SaId};

/// SAs per chunk: a power of two, so that a position splits into (chunk, index) by shifts;
/// large enough (about 14 MiB) that all but the chunk's two ends lie in whole huge pages.
pub(crate) const CHUNK_SAS: usize = 1 << CHUNK_SHIFT;
const CHUNK_SHIFT: u32 = 13;

#[derive(Debug, Default)]
pub(crate) struct SaArena {
    /// Each allocated at its full capacity once and never grown, so never moved; all full
    /// but the last, and none after a non-full one holds an SA.
    chunks: Vec<Vec<Sa>>,
    len: usize,
}

/// A chunk's memory, untouched, advised before its first fault.
fn new_chunk() -> Vec<Sa> {
    let chunk: Vec<Sa> = Vec::with_capacity(CHUNK_SAS);
    advise_huge_pages(&chunk);
    chunk
}

#[cfg(feature = "ipsec-mb")]
fn advise_huge_pages(chunk: &Vec<Sa>) {
    let bytes = chunk.capacity() * std::mem::size_of::<Sa>();
    ipsec_mb::advise_huge_pages(chunk.as_ptr().cast(), bytes);
}

#[cfg(not(feature = "ipsec-mb"))]
fn advise_huge_pages(_: &Vec<Sa>) {}

impl SaArena {
    /// Stores `sa` at the end, returning its position.
    pub(crate) fn push(&mut self, sa: Sa) -> u32 {
        let (c, _) = split(self.len as u32);
        if self.chunks.len() == c {
            self.chunks.push(new_chunk());
        }
        self.chunks[c].push(sa);
        self.len += 1;
        (self.len - 1) as u32
    }

    /// Takes the SA at `at` out and moves the last one into its place: returns the SA taken
    /// and the id of the one moved to `at`, if another was.
    pub(crate) fn swap_remove(&mut self, at: u32) -> Option<(Sa, Option<SaId>)> {
        if at as usize >= self.len {
            return None;
        }
        let (lc, _) = split(self.len as u32 - 1);
        let last = self.chunks[lc].pop()?;
        self.len -= 1;
        if at as usize == self.len {
            return Some((last, None));
        }
        let moved = last.id;
        let (c, i) = split(at);
        let taken = std::mem::replace(&mut self.chunks[c][i], last);
        Some((taken, Some(moved)))
    }

    #[inline(always)]
    pub(crate) fn get(&self, at: u32) -> Option<&Sa> {
        let (c, i) = split(at);
        self.chunks.get(c)?.get(i)
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, at: u32) -> Option<&mut Sa> {
        let (c, i) = split(at);
        self.chunks.get_mut(c)?.get_mut(i)
    }

    /// Every SA, in the order of their positions.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Sa> {
        self.chunks.iter_mut().flatten()
    }
}

#[inline(always)]
fn split(at: u32) -> (usize, usize) {
    let at = at as usize;
    (at >> CHUNK_SHIFT, at & (CHUNK_SAS - 1))
}
