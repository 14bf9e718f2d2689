//! Checkpoints of the whole machine for seeking and reverse execution. The first checkpoint holds all of RAM;
//! each later one holds only the pages written since the one before, zstd-compressed. Restoring checkpoint `k`
//! rewrites just the pages that can differ from it. When the store exceeds its memory budget, checkpoints are
//! thinned (a dropped checkpoint's pages move into its successor), so history stays reachable, only slower.

use rewind::{CpuState, Machine};
use std::collections::{BTreeSet, HashMap};

const PAGE: usize = 4096;

struct Checkpoint {
    icount: u64,
    /// Index of the first event not yet applied at this point.
    cursor: usize,
    cpu: CpuState,
    /// Page index -> compressed contents at this checkpoint, for pages written since the previous checkpoint.
    pages: HashMap<usize, Vec<u8>>,
    bytes: usize,
}

pub struct CheckpointStore {
    list: Vec<Checkpoint>,
    /// The checkpoint RAM was last restored to or taken at: RAM = that checkpoint + pages dirtied since.
    baseline: Option<usize>,
    /// Pages that differ from the baseline besides the machine's dirty pages (after thinning removed the
    /// checkpoint RAM was based on, its pages are such).
    stale: BTreeSet<usize>,
    budget: usize,
    bytes: usize,
}

/// Figures for `monitor replay checkpoints` and benchmarks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    pub icount: u64,
    pub pages: usize,
    pub bytes: usize,
}

fn compress(page: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(page, 1).unwrap_or_else(|_| page.to_vec())
}

fn decompress(data: &[u8]) -> Vec<u8> {
    if data.len() == PAGE {
        return data.to_vec();
    }
    zstd::bulk::decompress(data, PAGE).unwrap_or_else(|_| vec![0; PAGE])
}

impl CheckpointStore {
    /// A store that keeps its checkpoints within about `budget` bytes.
    pub fn new(budget: usize) -> CheckpointStore {
        CheckpointStore { list: Vec::new(), baseline: None, stale: BTreeSet::new(), budget, bytes: 0 }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn info(&self) -> Vec<CheckpointInfo> {
        self.list.iter().map(|c| CheckpointInfo { icount: c.icount, pages: c.pages.len(), bytes: c.bytes }).collect()
    }

    pub fn last_icount(&self) -> Option<u64> {
        self.list.last().map(|c| c.icount)
    }

    /// The latest checkpoint at or before `icount`: its index, icount and event cursor.
    pub fn at_or_before(&self, icount: u64) -> Option<(usize, u64, usize)> {
        let i = self.list.partition_point(|c| c.icount <= icount).checked_sub(1)?;
        self.list.get(i).map(|c| (i, c.icount, c.cursor))
    }

    /// Pages written between checkpoints `a` and `b` (exclusive of `min`, inclusive of `max`).
    fn pages_between(&self, a: usize, b: usize) -> BTreeSet<usize> {
        let (lo, hi) = (a.min(b), a.max(b));
        self.list[lo + 1..=hi].iter().flat_map(|c| c.pages.keys().copied()).collect()
    }

    /// Takes a checkpoint of `m` at its current point: after the last one, or between two (seeking backwards
    /// leaves checkpoints near where the user is stepping, so the next reverse step is quick).
    pub fn take(&mut self, m: &mut Machine, cursor: usize) {
        let icount = m.icount();
        let pos = self.list.partition_point(|c| c.icount <= icount);
        if pos > 0 && self.list[pos - 1].icount == icount {
            return;
        }
        let mut dirty = m.take_dirty_pages();
        dirty.extend(std::mem::take(&mut self.stale));
        // RAM is the baseline checkpoint plus `dirty`; relative to the predecessor, the pages written between the
        // two differ too. (A successor's pages stay valid: they cover everything written after the predecessor.)
        let pages: BTreeSet<usize> = match (self.baseline, pos) {
            (Some(b), pos) if pos > 0 => {
                let mut p = self.pages_between(b, pos - 1);
                p.extend(dirty);
                p
            }
            // Pages never written are zero: the first checkpoint has nothing to say about them (a 64 GiB machine
            // has 16 Mi pages, most of which the host never committed).
            _ => m.ram().written_pages().collect(),
        };
        let first = pos == 0;
        let mut stored = HashMap::with_capacity(pages.len());
        let mut bytes = 0;
        for p in pages {
            if let Some(data) = m.ram_page(p) {
                // The first checkpoint leaves out zero pages: a page found in no checkpoint is zero.
                if first && data.iter().all(|b| *b == 0) {
                    continue;
                }
                let c = compress(data);
                bytes += c.len();
                stored.insert(p, c);
            }
        }
        let cpu = m.save_cpu_state();
        bytes += std::mem::size_of::<CpuState>() + cpu.devices.iter().map(Vec::len).sum::<usize>();
        self.list.insert(pos, Checkpoint { icount, cursor, cpu, pages: stored, bytes });
        self.bytes += bytes;
        self.baseline = Some(pos);
        self.thin();
    }

    /// Restores checkpoint `index`; returns its event cursor.
    pub fn restore(&mut self, m: &mut Machine, index: usize) -> Option<usize> {
        let target = self.list.get(index)?;
        let cursor = target.cursor;
        let mut pages: BTreeSet<usize> = m.take_dirty_pages().into_iter().collect();
        pages.extend(std::mem::take(&mut self.stale));
        match self.baseline {
            Some(b) => pages.extend(self.pages_between(b, index)),
            // RAM and the checkpoints agree on the pages neither wrote: they are zero.
            None => {
                pages.extend(m.ram().written_pages());
                pages.extend(self.list[..=index].iter().flat_map(|c| c.pages.keys().copied()));
            }
        }
        for p in pages {
            match self.list[..=index].iter().rev().find_map(|c| c.pages.get(&p)) {
                Some(data) => m.set_ram_page(p, &decompress(data))?,
                None => m.set_ram_page(p, &[0; PAGE])?,
            }
        }
        m.restore_cpu_state(&self.list[index].cpu).ok()?;
        // Writes by the restore itself are not guest writes.
        m.take_dirty_pages();
        self.baseline = Some(index);
        Some(cursor)
    }

    /// Drops checkpoints (never the first or the last) until the store fits its budget, keeping them evenly
    /// spread: the one whose neighbours are closest goes first.
    fn thin(&mut self) {
        while self.bytes > self.budget && self.list.len() > 2 {
            let victim = (1..self.list.len() - 1)
                .min_by_key(|&i| self.list[i + 1].icount - self.list[i - 1].icount)
                .unwrap_or(1);
            let gone = self.list.remove(victim);
            if self.baseline == Some(victim) {
                // RAM was this checkpoint plus dirty pages; relative to its predecessor, its own pages differ too.
                self.stale.extend(gone.pages.keys().copied());
                self.baseline = Some(victim - 1);
            } else if let Some(b) = self.baseline.filter(|&b| b > victim) {
                self.baseline = Some(b - 1);
            }
            let page_bytes: usize = gone.pages.values().map(Vec::len).sum();
            // The CPU state of the dropped checkpoint goes; its pages move into the successor unless the
            // successor has a newer copy.
            self.bytes -= gone.bytes - page_bytes;
            let next = &mut self.list[victim];
            for (p, data) in gone.pages {
                if let std::collections::hash_map::Entry::Vacant(e) = next.pages.entry(p) {
                    next.bytes += data.len();
                    e.insert(data);
                } else {
                    self.bytes -= data.len();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind::MachineBuilder;

    const BASE: u64 = 0x8000_0000;

    /// A machine spinning on `j .`, so instructions pass without touching RAM.
    fn spinning() -> Machine {
        let mut b = MachineBuilder::new(1, "ram", BASE, 64 * PAGE as u64).unwrap();
        b.ram_mut().write(BASE, &0x0000_006fu32.to_le_bytes()).unwrap();
        b.set_reset_pc(BASE);
        b.build()
    }

    #[test]
    fn restoring_after_the_baseline_was_thinned_away_reverts_its_pages() {
        let mut m = spinning();
        // A budget that forces thinning as soon as there is a middle checkpoint.
        let mut store = CheckpointStore::new(1);
        store.take(&mut m, 0);
        m.run(100);
        store.take(&mut m, 0);
        store.restore(&mut m, 0).unwrap();
        m.run(50);
        m.write_phys(BASE + 5 * PAGE as u64, &[7]).unwrap();
        // Inserted between the two, then dropped at once: RAM was based on it.
        store.take(&mut m, 0);
        assert_eq!(store.len(), 2);
        m.run(10);
        store.restore(&mut m, 0).unwrap();
        assert_eq!(m.ram_page(5).unwrap()[0], 0, "the page written before the dropped checkpoint is reverted");
        assert_eq!(m.icount(), 0);
    }

    /// This process's page tables, in KiB: reading a page the host never committed maps the zero page, which
    /// costs a page-table entry.
    fn page_table_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmPTE:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn checkpoints_of_a_huge_machine_visit_only_the_pages_written() {
        let mut b = MachineBuilder::new(1, "ram", BASE, 64 << 30).unwrap();
        b.ram_mut().write(BASE, &0x0000_006fu32.to_le_bytes()).unwrap();
        b.ram_mut().write(BASE + (64 << 30) - 8, &[0x55; 8]).unwrap();
        b.set_reset_pc(BASE);
        let mut m = b.build();
        let before = page_table_kib();
        let mut store = CheckpointStore::new(usize::MAX);
        store.take(&mut m, 0);
        assert_eq!(store.info()[0].pages, 2);
        m.run(10);
        m.write_phys(BASE + 0x1000, &[1]).unwrap();
        store.baseline = None;
        store.restore(&mut m, 0).unwrap();
        assert_eq!(m.ram_page(1).unwrap()[0], 0);
        assert_eq!(m.ram_page((64 << 30) / PAGE - 1).unwrap()[PAGE - 1], 0x55);
        // Reading all 16 Mi pages would map each to the zero page: 128 MiB of page tables.
        let grown = page_table_kib().saturating_sub(before);
        assert!(grown < 8 << 10, "page tables grew by {grown} KiB");
    }
}
