//! The log on disk: append with group commit, publish signed checkpoints, prove, recover.
//!
//! A log directory holds:
//!
//! ```text
//! log.key        the log's signer key (PRIVATE+KEY+..., mode 0600)
//! log.pub        the log's verifier key (vkey)
//! checkpoint     the latest signed checkpoint (signed note)
//! journal        batches appended since that checkpoint (see the journal module)
//! tile/...       hash tiles and entry bundles in the tlog-tiles layout
//! ```
//!
//! An append writes its batch to the journal and fsyncs it: from then on the entries are durable and
//! the append returns their indices. It then writes the full tiles that the entries complete, without
//! fsync. Publishing writes the partial tiles of the new size, syncs the file system, replaces the
//! checkpoint atomically and empties the journal. Reopening after a crash truncates a torn journal
//! tail, replays the journal's entries past the checkpoint (rewriting their tiles) and publishes.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::hash::{Hash, empty_root, leaf_hash, merkle_root, node_hash};
use crate::journal;
use crate::note::{KeyKind, Note, NoteSignature, SignerKey, VerifierKey};
use crate::proof::{self, NodeSource};
use crate::tile::{
    MAX_ENTRY_LEN, TILE_HEIGHT, TILE_WIDTH, TileId, TileKind, decode_bundle, decode_hash_tile,
    encode_hash_tile,
};
use crate::witness::verify_cosignature;

/// The file names inside a log directory.
pub const KEY_FILE: &str = "log.key";
/// The log's public key.
pub const PUBLIC_KEY_FILE: &str = "log.pub";
/// The latest signed checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// The journal of unpublished appends.
pub const JOURNAL_FILE: &str = "journal";
/// Held locked (flock) by the one process that has the log open.
pub const LOCK_FILE: &str = "lock";
/// A private cache of tree level 4: for each full level-0 tile, the roots of its sixteen 16-leaf
/// subtrees (16 × 32 bytes). It lets a proof hash 22 nodes instead of 247. Not part of tlog-tiles:
/// [`Log::open`] checks it against the level-1 tiles and rebuilds what does not match.
pub const NODES_FILE: &str = "nodes";
/// Hashes of tree level 4 per level-0 tile.
const NODES_PER_TILE: usize = 16;

/// Whether appends wait for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every append and publish waits for fsync (the only safe setting).
    #[default]
    Fsync,
    /// Skip every fsync: a crash may lose acknowledged entries. For measuring what fsync costs.
    NoSync,
}

/// How a log is opened.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Whether appends wait for the disk.
    pub durability: Durability,
}

/// An open log, owned by its one writer.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    signer: SignerKey,
    options: Options,
    /// Entries appended: all durable in tiles or the journal.
    size: u64,
    /// The size of the published checkpoint.
    published: u64,
    checkpoint: Note,
    /// Leaf hashes of the partial level-0 tile. Invariant: `leaves.len() == size % 256`.
    leaves: Vec<Hash>,
    /// The entry bundle of the same partial tile.
    bundle: Vec<u8>,
    /// `upper[j]` holds every complete node of tree level 8 + j, left to right.
    upper: Vec<Vec<Hash>>,
    journal: File,
    /// Every complete node of tree level 4: those of the full level-0 tiles (a copy of
    /// [`NODES_FILE`]), then those of the partial tile. Invariant: `level4.len() == size / 16`.
    level4: Vec<Hash>,
    nodes: File,
    /// Level-4 nodes of tiles completed by the current append, not yet written to [`NODES_FILE`].
    nodes_pending: Vec<u8>,
    /// Full tiles completed since the last publish: their partial tiles are removed after it.
    completed: Vec<TileId>,
    created_dirs: HashSet<PathBuf>,
    /// Files written since the last publish (synced one by one where there is no syncfs).
    dirty: Vec<PathBuf>,
    /// The lock that keeps a second writer out, held while the log is open.
    _lock: File,
    /// Set when a write failed after the journal was synced: the memory state is no longer known
    /// to match the disk, so the log must be reopened.
    poisoned: bool,
}

impl Log {
    /// Creates a new log in `dir` (which must not hold one) with a new key named `origin`.
    pub fn create(dir: &Path, origin: &str, options: Options) -> Result<Log> {
        if dir.join(KEY_FILE).exists() || dir.join(CHECKPOINT_FILE).exists() {
            return Err(Error::Directory {
                path: dir.to_owned(),
                reason: "already holds a log",
            });
        }
        fs::create_dir_all(dir).map_err(|error| Error::io("create", dir, error))?;
        let lock = lock_dir(dir)?;
        let signer = SignerKey::generate(origin, KeyKind::Note)?;
        write_atomic(
            dir,
            KEY_FILE,
            format!("{}\n", signer.to_secret_string()).as_bytes(),
            true,
            true,
        )?;
        write_atomic(
            dir,
            PUBLIC_KEY_FILE,
            format!("{}\n", signer.verifier()).as_bytes(),
            false,
            true,
        )?;
        let checkpoint = sign_checkpoint(&signer, 0, empty_root())?;
        write_atomic(
            dir,
            CHECKPOINT_FILE,
            checkpoint.to_text().as_bytes(),
            false,
            true,
        )?;
        let journal = open_journal(dir)?;
        Ok(Log {
            dir: dir.to_owned(),
            signer,
            options,
            size: 0,
            published: 0,
            checkpoint,
            leaves: Vec::new(),
            bundle: Vec::new(),
            upper: Vec::new(),
            journal,
            level4: Vec::new(),
            nodes: open_nodes(dir)?,
            nodes_pending: Vec::new(),
            completed: Vec::new(),
            created_dirs: HashSet::new(),
            dirty: Vec::new(),
            _lock: lock,
            poisoned: false,
        })
    }

    /// Opens the log in `dir`, repairing what a crash left: a torn journal tail is cut, journal
    /// entries past the checkpoint are replayed, and a new checkpoint is published for them.
    pub fn open(dir: &Path, options: Options) -> Result<Log> {
        let key_path = dir.join(KEY_FILE);
        if !key_path.exists() {
            return Err(Error::Directory {
                path: dir.to_owned(),
                reason: "holds no log (no log.key)",
            });
        }
        let lock = lock_dir(dir)?;
        let signer = SignerKey::parse(&read_text(&key_path)?)?;
        let checkpoint = read_checkpoint(dir, &signer.verifier())?;
        let parsed = Checkpoint::parse(checkpoint.text())?;
        let size = parsed.size;
        let mut log = Log {
            dir: dir.to_owned(),
            signer,
            options,
            size,
            published: size,
            checkpoint,
            leaves: Vec::new(),
            bundle: Vec::new(),
            upper: Vec::new(),
            journal: open_journal(dir)?,
            level4: Vec::new(),
            nodes: open_nodes(dir)?,
            nodes_pending: Vec::new(),
            completed: Vec::new(),
            created_dirs: HashSet::new(),
            dirty: Vec::new(),
            _lock: lock,
            poisoned: false,
        };
        log.load_tiles()?;
        if log.root() != parsed.root {
            return Err(Error::corrupt(
                CHECKPOINT_FILE,
                "root does not match the tiles",
            ));
        }
        log.replay_journal()?;
        if log.size > log.published {
            log.publish()?;
        }
        Ok(log)
    }

    /// The number of entries appended (all durable).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size of the published checkpoint.
    pub fn published_size(&self) -> u64 {
        self.published
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> VerifierKey {
        self.signer.verifier()
    }

    /// The latest published checkpoint, as a signed note.
    pub fn checkpoint(&self) -> &Note {
        &self.checkpoint
    }

    /// The root of the tree of all appended entries.
    pub fn root(&self) -> Hash {
        // The full tree's subtrees are all in memory (levels 4 and 8 up, and the partial tile's
        // leaves), so this reads no file and cannot fail unless those invariants are broken.
        self.root_at(self.size)
            .expect("every node of the whole tree is in memory")
    }

    /// The root of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        proof::range_hash(&mut self.nodes(), 0, size)
    }

    /// Appends `entries` with one journal write and one fsync; returns their indices once they are
    /// durable. Entries are at most [`MAX_ENTRY_LEN`] bytes.
    pub fn append<E: AsRef<[u8]> + Sync>(&mut self, entries: &[E]) -> Result<Range<u64>> {
        if self.poisoned {
            return Err(Error::corrupt(
                JOURNAL_FILE,
                "an earlier write failed; reopen the log",
            ));
        }
        if let Some(entry) = entries
            .iter()
            .find(|entry| entry.as_ref().len() > MAX_ENTRY_LEN)
        {
            return Err(Error::EntryTooLarge {
                len: entry.as_ref().len(),
                max: MAX_ENTRY_LEN,
            });
        }
        let first = self.size;
        if entries.is_empty() {
            return Ok(first..first);
        }
        // Leaf hashes are independent: hash big batches on every core while nothing else runs.
        let hashes: Vec<Hash> = if entries.len() >= 4096 {
            entries
                .par_iter()
                .map(|entry| leaf_hash(entry.as_ref()))
                .collect()
        } else {
            entries
                .iter()
                .map(|entry| leaf_hash(entry.as_ref()))
                .collect()
        };
        let mut buffer = Vec::with_capacity(
            entries
                .iter()
                .map(|entry| entry.as_ref().len() + 2)
                .sum::<usize>()
                + 64,
        );
        let mut batch: Vec<&[u8]> = Vec::new();
        // `hashes[batch_start..]` are the leaf hashes of `batch`.
        let mut batch_start = 0;
        let mut payload = 0;
        for entry in entries {
            let entry = entry.as_ref();
            if payload + entry.len() + 2 > journal::MAX_PAYLOAD && !batch.is_empty() {
                let leaves = &hashes[batch_start..batch_start + batch.len()];
                journal::encode_batch(&mut buffer, first + batch_start as u64, &batch, leaves);
                batch_start += batch.len();
                batch.clear();
                payload = 0;
            }
            batch.push(entry);
            payload += entry.len() + 2;
        }
        let leaves = &hashes[batch_start..];
        journal::encode_batch(&mut buffer, first + batch_start as u64, &batch, leaves);
        self.journal
            .write_all(&buffer)
            .map_err(|error| self.fail("write", JOURNAL_FILE, error))?;
        // The fsync runs on its own thread while this one writes the tiles: the tiles are not
        // durable anyway (publish syncs them), and nothing returns before the fsync has.
        let syncer = if self.options.durability == Durability::Fsync {
            let journal = self
                .journal
                .try_clone()
                .map_err(|error| self.fail("open", JOURNAL_FILE, error))?;
            Some(std::thread::spawn(move || journal.sync_data()))
        } else {
            None
        };
        let mut tiles = Ok(());
        for (entry, hash) in entries.iter().zip(hashes) {
            tiles = self.push_leaf(entry.as_ref(), hash);
            if tiles.is_err() {
                break;
            }
        }
        if let Some(syncer) = syncer {
            let synced = syncer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the fsync thread panicked")));
            synced.map_err(|error| self.fail("fsync", JOURNAL_FILE, error))?;
        }
        // Durable from here on. If the tiles failed, reopening rebuilds them from the journal.
        if let Err(error) = tiles {
            self.poisoned = true;
            return Err(error);
        }
        self.flush_nodes()?;
        Ok(first..self.size)
    }

    /// Publishes a signed checkpoint of every appended entry: writes the partial tiles, makes all
    /// tiles durable, replaces the checkpoint and empties the journal.
    pub fn publish(&mut self) -> Result<&Note> {
        if self.poisoned {
            return Err(Error::corrupt(
                JOURNAL_FILE,
                "an earlier write failed; reopen the log",
            ));
        }
        if self.size == self.published {
            return Ok(&self.checkpoint);
        }
        let size = self.size;
        let mut partials: Vec<(TileId, Vec<u8>)> = Vec::new();
        let width = size % TILE_WIDTH;
        if width > 0 {
            let index = size / TILE_WIDTH;
            partials.push((
                TileId {
                    kind: TileKind::Hashes(0),
                    index,
                    width,
                },
                encode_hash_tile(&self.leaves),
            ));
            partials.push((
                TileId {
                    kind: TileKind::Entries,
                    index,
                    width,
                },
                self.bundle.clone(),
            ));
        }
        let mut level = 1u8;
        while (size >> (TILE_HEIGHT * u32::from(level))) > 0 {
            let count = size >> (TILE_HEIGHT * u32::from(level));
            let width = count % TILE_WIDTH;
            if width > 0 {
                let hashes = &self.upper[usize::from(level - 1) * TILE_HEIGHT as usize];
                let start = (count - width) as usize;
                let id = TileId {
                    kind: TileKind::Hashes(level),
                    index: count / TILE_WIDTH,
                    width,
                };
                partials.push((id, encode_hash_tile(&hashes[start..count as usize])));
            }
            level += 1;
        }
        for (id, bytes) in partials {
            self.write_partial_tile(id, &bytes)?;
        }
        let sync = self.options.durability == Durability::Fsync;
        if sync {
            self.sync_tiles()?;
        }
        self.dirty.clear();
        let note = sign_checkpoint(&self.signer, size, self.root())?;
        write_atomic(
            &self.dir,
            CHECKPOINT_FILE,
            note.to_text().as_bytes(),
            false,
            sync,
        )?;
        self.checkpoint = note;
        self.published = size;
        // Every journal entry is now in durable tiles under a durable checkpoint.
        self.journal
            .set_len(0)
            .map_err(|error| self.fail("truncate", JOURNAL_FILE, error))?;
        self.journal
            .seek(SeekFrom::Start(0))
            .map_err(|error| self.fail("seek", JOURNAL_FILE, error))?;
        if sync {
            self.journal
                .sync_all()
                .map_err(|error| self.fail("fsync", JOURNAL_FILE, error))?;
        }
        // Partial tiles of completed tiles are no longer named by the checkpoint.
        for id in std::mem::take(&mut self.completed) {
            let partial_dir = self.dir.join(format!("{}.p", id.path()));
            match fs::remove_dir_all(&partial_dir) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(Error::io("remove", partial_dir, error)),
            }
        }
        Ok(&self.checkpoint)
    }

    /// Adds a witness's cosignature to the published checkpoint, after checking it.
    pub fn add_cosignature(&mut self, witness: &VerifierKey, line: NoteSignature) -> Result<()> {
        let mut note = self.checkpoint.clone();
        note.add_signature(line);
        verify_cosignature(witness, &note)?;
        let sync = self.options.durability == Durability::Fsync;
        write_atomic(
            &self.dir,
            CHECKPOINT_FILE,
            note.to_text().as_bytes(),
            false,
            sync,
        )?;
        self.checkpoint = note;
        Ok(())
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        self.check_index(index)?;
        let tile = index / TILE_WIDTH;
        let position = (index % TILE_WIDTH) as usize;
        if tile == self.size / TILE_WIDTH {
            let entries = decode_bundle(&self.bundle)?;
            return Ok(entries[position].to_vec());
        }
        let id = TileId {
            kind: TileKind::Entries,
            index: tile,
            width: TILE_WIDTH,
        };
        let bytes = read_file(&self.dir.join(id.path()))?;
        let entries =
            decode_bundle(&bytes).map_err(|error| Error::corrupt(id.path(), error.to_string()))?;
        entries
            .get(position)
            .map(|entry| entry.to_vec())
            .ok_or_else(|| Error::corrupt(id.path(), "holds fewer than 256 entries"))
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        proof::inclusion_proof(&mut self.nodes(), index, size)
    }

    /// The consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        proof::consistency_proof(&mut self.nodes(), old, new)
    }

    fn nodes(&self) -> LogNodes<'_> {
        LogNodes {
            log: self,
            cached: None,
        }
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size {
            return Err(Error::Range(format!(
                "size {size} is past the log's size {}",
                self.size
            )));
        }
        Ok(())
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if index >= self.size {
            return Err(Error::Range(format!(
                "index {index} is not below the log's size {}",
                self.size
            )));
        }
        Ok(())
    }

    fn fail(&mut self, action: &'static str, name: &str, error: std::io::Error) -> Error {
        self.poisoned = true;
        Error::io(action, self.dir.join(name), error)
    }

    /// Adds one durable entry to the tiles.
    fn push_leaf(&mut self, entry: &[u8], hash: Hash) -> Result<()> {
        crate::tile::push_bundle_entry(&mut self.bundle, entry)?;
        self.leaves.push(hash);
        self.size += 1;
        if self.leaves.len().is_multiple_of(NODES_PER_TILE) {
            let block = &self.leaves[self.leaves.len() - NODES_PER_TILE..];
            self.level4.push(merkle_root(block));
        }
        if self.leaves.len() as u64 == TILE_WIDTH {
            let index = self.size / TILE_WIDTH - 1;
            let tile = TileId {
                kind: TileKind::Hashes(0),
                index,
                width: TILE_WIDTH,
            };
            let bundle = TileId {
                kind: TileKind::Entries,
                index,
                width: TILE_WIDTH,
            };
            self.write_tile(tile, &encode_hash_tile(&self.leaves))?;
            let bytes = std::mem::take(&mut self.bundle);
            self.write_tile(bundle, &bytes)?;
            self.completed.push(tile);
            self.completed.push(bundle);
            let level4 = &self.level4[self.level4.len() - NODES_PER_TILE..];
            let root = merkle_root(level4);
            self.nodes_pending
                .extend_from_slice(&encode_hash_tile(level4));
            self.leaves.clear();
            self.push_upper(root)?;
        }
        Ok(())
    }

    /// Adds a new node of tree level 8 and every node that it completes above it, writing the
    /// tiles that they fill.
    fn push_upper(&mut self, hash: Hash) -> Result<()> {
        let mut hash = hash;
        let mut level = 0;
        loop {
            if self.upper.len() <= level {
                self.upper.push(Vec::new());
            }
            self.upper[level].push(hash);
            let len = self.upper[level].len();
            if level % TILE_HEIGHT as usize == 0 && (len as u64).is_multiple_of(TILE_WIDTH) {
                let tile_level = (level / TILE_HEIGHT as usize + 1) as u8;
                let id = TileId {
                    kind: TileKind::Hashes(tile_level),
                    index: len as u64 / TILE_WIDTH - 1,
                    width: TILE_WIDTH,
                };
                let bytes = encode_hash_tile(&self.upper[level][len - TILE_WIDTH as usize..]);
                self.write_tile(id, &bytes)?;
                self.completed.push(id);
            }
            if len % 2 == 1 {
                return Ok(());
            }
            hash = node_hash(&self.upper[level][len - 2], &self.upper[level][len - 1]);
            level += 1;
        }
    }

    fn write_tile(&mut self, id: TileId, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(id.path());
        if let Some(parent) = path.parent()
            && !self.created_dirs.contains(parent)
        {
            fs::create_dir_all(parent).map_err(|error| Error::io("create", parent, error))?;
            self.created_dirs.insert(parent.to_owned());
        }
        fs::write(&path, bytes).map_err(|error| Error::io("write", &path, error))?;
        if !cfg!(target_os = "linux") {
            self.dirty.push(path);
        }
        Ok(())
    }

    /// Writes a partial tile. The same partial tile (an upper level's, say) is written by many
    /// publishes, and the durable checkpoint may name it: it must never be seen half written. So an
    /// identical file is left alone, and a different one is replaced by a rename.
    fn write_partial_tile(&mut self, id: TileId, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(id.path());
        if fs::read(&path).is_ok_and(|existing| existing == bytes) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|error| Error::io("create", parent, error))?;
        }
        let temporary = path.with_file_name(format!("{}.tmp", id.width));
        fs::write(&temporary, bytes).map_err(|error| Error::io("write", &temporary, error))?;
        fs::rename(&temporary, &path).map_err(|error| Error::io("rename", &path, error))?;
        if !cfg!(target_os = "linux") {
            self.dirty.push(path);
        }
        Ok(())
    }

    /// Makes every tile written since the last publish durable.
    fn sync_tiles(&mut self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            sync_filesystem(&self.dir)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut dirs = HashSet::new();
            for path in &self.dirty {
                File::open(path)
                    .and_then(|file| file.sync_all())
                    .map_err(|error| Error::io("fsync", path, error))?;
                if let Some(parent) = path.parent() {
                    dirs.insert(parent.to_owned());
                }
            }
            for dir in dirs {
                sync_dir(&dir)?;
            }
            Ok(())
        }
    }

    /// Loads the partial level-0 tile and every node of tree level 8 and above for `self.size`.
    fn load_tiles(&mut self) -> Result<()> {
        let size = self.size;
        let width = size % TILE_WIDTH;
        if width > 0 {
            let index = size / TILE_WIDTH;
            let tile = TileId {
                kind: TileKind::Hashes(0),
                index,
                width,
            };
            self.leaves = read_hash_tile(&self.dir, tile)?;
            let bundle = TileId {
                kind: TileKind::Entries,
                index,
                width,
            };
            self.bundle = read_file(&self.dir.join(bundle.path()))?;
            let entries = decode_bundle(&self.bundle)
                .map_err(|error| Error::corrupt(bundle.path(), error.to_string()))?;
            if entries.len() as u64 != width {
                return Err(Error::corrupt(
                    bundle.path(),
                    format!("holds {} entries, expected {width}", entries.len()),
                ));
            }
            for (position, entry) in entries.iter().enumerate() {
                if leaf_hash(entry) != self.leaves[position] {
                    let index = index * TILE_WIDTH + position as u64;
                    return Err(Error::corrupt(
                        bundle.path(),
                        format!("entry {index} does not match its leaf hash"),
                    ));
                }
            }
        }
        let count = size / TILE_WIDTH;
        let mut level8 = Vec::with_capacity(count as usize);
        for index in 0..count.div_ceil(TILE_WIDTH) {
            let width = (count - index * TILE_WIDTH).min(TILE_WIDTH);
            level8.extend(read_hash_tile(
                &self.dir,
                TileId {
                    kind: TileKind::Hashes(1),
                    index,
                    width,
                },
            )?);
        }
        self.upper = build_upper(level8);
        self.load_nodes()
    }

    /// Loads the level-4 cache, checking each tile's sixteen nodes against its level-8 node and
    /// rebuilding from the level-0 tile whatever is missing or wrong.
    fn load_nodes(&mut self) -> Result<()> {
        let path = self.dir.join(NODES_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(Error::io("read", &path, error)),
        };
        let full = (self.size / TILE_WIDTH) as usize;
        let tile_bytes = NODES_PER_TILE * Hash::LEN;
        let mut level4 = Vec::with_capacity(full * NODES_PER_TILE);
        let mut rebuilt = bytes.len() != full * tile_bytes;
        for index in 0..full {
            let cached = bytes
                .get(index * tile_bytes..(index + 1) * tile_bytes)
                .and_then(|chunk| decode_hash_tile(chunk).ok())
                .filter(|nodes| merkle_root(nodes) == self.upper[0][index]);
            let nodes = match cached {
                Some(nodes) => nodes,
                None => {
                    rebuilt = true;
                    let id = TileId {
                        kind: TileKind::Hashes(0),
                        index: index as u64,
                        width: TILE_WIDTH,
                    };
                    read_hash_tile(&self.dir, id)?
                        .chunks(NODES_PER_TILE)
                        .map(merkle_root)
                        .collect()
                }
            };
            level4.extend(nodes);
        }
        if rebuilt {
            let sync = self.options.durability == Durability::Fsync;
            write_atomic(
                &self.dir,
                NODES_FILE,
                &encode_hash_tile(&level4),
                false,
                sync,
            )?;
            self.nodes = open_nodes(&self.dir)?;
        }
        level4.extend(self.leaves.chunks_exact(NODES_PER_TILE).map(merkle_root));
        self.level4 = level4;
        Ok(())
    }

    fn flush_nodes(&mut self) -> Result<()> {
        if self.nodes_pending.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.nodes_pending);
        if let Err(error) = self.nodes.write_all(&bytes) {
            self.poisoned = true;
            return Err(Error::io("write", self.dir.join(NODES_FILE), error));
        }
        Ok(())
    }

    fn replay_journal(&mut self) -> Result<()> {
        let path = self.dir.join(JOURNAL_FILE);
        let mut bytes = Vec::new();
        self.journal
            .seek(SeekFrom::Start(0))
            .map_err(|error| Error::io("seek", &path, error))?;
        self.journal
            .read_to_end(&mut bytes)
            .map_err(|error| Error::io("read", &path, error))?;
        let scan = journal::scan(&bytes)?;
        for batch in &scan.batches {
            if batch.first_index > self.size {
                return Err(Error::corrupt(
                    JOURNAL_FILE,
                    format!(
                        "starts at entry {} but the tiles end at {}",
                        batch.first_index, self.size
                    ),
                ));
            }
            let entries = journal::batch_entries(&bytes, batch)?;
            for (offset, entry) in entries.iter().enumerate() {
                // Entries below the size were published before the journal could be emptied.
                if batch.first_index + offset as u64 == self.size {
                    self.push_leaf(entry, leaf_hash(entry))?;
                }
            }
        }
        if scan.valid_len < bytes.len() {
            self.journal
                .set_len(scan.valid_len as u64)
                .map_err(|error| Error::io("truncate", &path, error))?;
            self.journal
                .sync_all()
                .map_err(|error| Error::io("fsync", &path, error))?;
        }
        self.journal
            .seek(SeekFrom::End(0))
            .map_err(|error| Error::io("seek", &path, error))?;
        self.flush_nodes()
    }
}

/// Every node of tree level 8 and above, from the nodes of level 8.
pub(crate) fn build_upper(level8: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut upper = vec![level8];
    while upper.last().is_some_and(|level| level.len() >= 2) {
        let below = upper.last().expect("checked above");
        let next: Vec<Hash> = below
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
        upper.push(next);
    }
    upper
}

/// Node hashes of an open log: levels 8 and up from memory, lower levels from level-0 tiles.
struct LogNodes<'a> {
    log: &'a Log,
    cached: Option<(u64, Vec<Hash>)>,
}

impl NodeSource for LogNodes<'_> {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        if level >= TILE_HEIGHT {
            return self
                .log
                .upper
                .get((level - TILE_HEIGHT) as usize)
                .and_then(|hashes| hashes.get(index as usize))
                .copied()
                .ok_or_else(|| Error::Range(format!("no node at level {level} index {index}")));
        }
        let first = index << level;
        let tile = first / TILE_WIDTH;
        if level >= 4 {
            let start = (first >> 4) as usize;
            let end = start + (1usize << (level - 4));
            let nodes = self.log.level4.get(start..end);
            return nodes
                .map(merkle_root)
                .ok_or_else(|| Error::Range(format!("no node at level {level} index {index}")));
        }
        let start = (first % TILE_WIDTH) as usize;
        let end = start + (1usize << level);
        let hashes: &[Hash] = if tile == self.log.size / TILE_WIDTH {
            &self.log.leaves
        } else {
            if self
                .cached
                .as_ref()
                .is_none_or(|(cached, _)| *cached != tile)
            {
                let id = TileId {
                    kind: TileKind::Hashes(0),
                    index: tile,
                    width: TILE_WIDTH,
                };
                self.cached = Some((tile, read_hash_tile(&self.log.dir, id)?));
            }
            &self.cached.as_ref().expect("filled above").1
        };
        let slice = hashes
            .get(start..end)
            .ok_or_else(|| Error::Range(format!("no node at level {level} index {index}")))?;
        Ok(merkle_root(slice))
    }
}

fn sign_checkpoint(signer: &SignerKey, size: u64, root: Hash) -> Result<Note> {
    let checkpoint = Checkpoint {
        origin: signer.name().to_owned(),
        size,
        root,
        extensions: Vec::new(),
    };
    Note::sign(&checkpoint.to_text(), &[signer])
}

/// Reads and verifies the checkpoint of the log in `dir`.
pub(crate) fn read_checkpoint(dir: &Path, key: &VerifierKey) -> Result<Note> {
    let bytes = read_file(&dir.join(CHECKPOINT_FILE))?;
    let note =
        Note::parse(&bytes).map_err(|error| Error::corrupt(CHECKPOINT_FILE, error.to_string()))?;
    note.verify(key)
        .map_err(|error| Error::corrupt(CHECKPOINT_FILE, error.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text())
        .map_err(|error| Error::corrupt(CHECKPOINT_FILE, error.to_string()))?;
    if checkpoint.origin != key.name() {
        return Err(Error::corrupt(
            CHECKPOINT_FILE,
            format!(
                "origin {} is not the key's name {}",
                checkpoint.origin,
                key.name()
            ),
        ));
    }
    Ok(note)
}

/// Reads a hash tile, which must hold exactly `id.width` hashes.
pub(crate) fn read_hash_tile(dir: &Path, id: TileId) -> Result<Vec<Hash>> {
    let bytes = read_file(&dir.join(id.path()))?;
    let hashes =
        decode_hash_tile(&bytes).map_err(|error| Error::corrupt(id.path(), error.to_string()))?;
    if hashes.len() as u64 != id.width {
        return Err(Error::corrupt(
            id.path(),
            format!("holds {} hashes, expected {}", hashes.len(), id.width),
        ));
    }
    Ok(hashes)
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|error| Error::io("read", path, error))
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|error| Error::io("read", path, error))
}

/// Takes the directory's writer lock, or fails with [`Error::Busy`].
fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|error| Error::io("open", &path, error))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if status != 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::WouldBlock {
                return Err(Error::Busy {
                    path: dir.to_owned(),
                });
            }
            return Err(Error::io("lock", &path, error));
        }
    }
    Ok(file)
}

fn open_nodes(dir: &Path) -> Result<File> {
    let path = dir.join(NODES_FILE);
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|error| Error::io("open", &path, error))
}

fn open_journal(dir: &Path) -> Result<File> {
    let path = dir.join(JOURNAL_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|error| Error::io("open", &path, error))?;
    file.seek(SeekFrom::End(0))
        .map_err(|error| Error::io("seek", &path, error))?;
    Ok(file)
}

/// Replaces `dir/name` with `bytes` so that a crash leaves either the old or the new file.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8], secret: bool, sync: bool) -> Result<()> {
    let temporary = dir.join(format!("{name}.tmp"));
    let target = dir.join(name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(&temporary)
        .map_err(|error| Error::io("create", &temporary, error))?;
    file.write_all(bytes)
        .map_err(|error| Error::io("write", &temporary, error))?;
    if sync {
        file.sync_all()
            .map_err(|error| Error::io("fsync", &temporary, error))?;
    }
    drop(file);
    fs::rename(&temporary, &target).map_err(|error| Error::io("rename", &target, error))?;
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|file| file.sync_all())
            .map_err(|error| Error::io("fsync", dir, error))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Flushes every dirty file of the file system that holds `dir`: one call instead of one fsync
/// per tile, which matters when an append of a million entries writes eight thousand tiles.
#[cfg(target_os = "linux")]
fn sync_filesystem(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let file = File::open(dir).map_err(|error| Error::io("open", dir, error))?;
    // SAFETY: syncfs only reads the descriptor, which `file` keeps open for the call.
    let status = unsafe { libc::syncfs(file.as_raw_fd()) };
    if status != 0 {
        return Err(Error::io("syncfs", dir, std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TestDir;
    use crate::proof::{verify_consistency, verify_inclusion};
    use crate::verify::verify_dir;

    fn entry(index: u64) -> Vec<u8> {
        format!("entry {index}").into_bytes()
    }

    fn fast() -> Options {
        Options {
            durability: Durability::NoSync,
        }
    }

    #[test]
    fn appends_across_tile_levels_match_the_reference_tree() {
        let dir = TestDir::new("levels");
        let mut log = Log::create(&dir.0, "test.example/log", fast()).expect("create");
        let total = 70_000u64;
        let mut leaves = Vec::new();
        let mut next = 0;
        let mut batch = 1;
        while next < total {
            let count = batch.min(total - next);
            let entries: Vec<Vec<u8>> = (next..next + count).map(entry).collect();
            leaves.extend(entries.iter().map(|entry| leaf_hash(entry)));
            assert_eq!(log.append(&entries).expect("append"), next..next + count);
            next += count;
            batch = batch * 3 + 1;
            if batch % 2 == 0 {
                log.publish().expect("publish");
            }
        }
        log.publish().expect("publish");
        for size in [1, 2, 255, 256, 257, 65535, 65536, 65537, total] {
            assert_eq!(
                log.root_at(size).expect("size"),
                merkle_root(&leaves[..size as usize]),
                "size {size}"
            );
        }
        let root = log.root();
        for index in [0, 1, 255, 256, 65535, 65536, total - 1] {
            let proof = log.inclusion_proof(index, total).expect("proof");
            verify_inclusion(&leaves[index as usize], index, total, &proof, &root)
                .expect("verifies");
            assert_eq!(log.entry(index).expect("entry"), entry(index));
        }
        for old in [1, 256, 1000, 65536, 69_999] {
            let proof = log.consistency_proof(old, total).expect("proof");
            let old_root = merkle_root(&leaves[..old as usize]);
            verify_consistency(old, total, &proof, &old_root, &root).expect("consistent");
        }
        let report = verify_dir(&dir.0, &log.verifier()).expect("verifies");
        assert_eq!((report.size, report.root), (total, root));
        assert!(
            dir.0.join("tile/2/000.p/1").exists(),
            "a level-2 partial tile for 65536 entries"
        );

        drop(log);
        let reopened = Log::open(&dir.0, fast()).expect("reopen");
        assert_eq!((reopened.size(), reopened.root()), (total, root));
    }

    #[test]
    fn unpublished_appends_are_replayed_and_published_on_open() {
        let dir = TestDir::new("replay");
        let mut log = Log::create(&dir.0, "test.example/log", Options::default()).expect("create");
        log.append(&(0..300).map(entry).collect::<Vec<_>>())
            .expect("append");
        log.publish().expect("publish");
        log.append(&(300..700).map(entry).collect::<Vec<_>>())
            .expect("append");
        let root = log.root();
        drop(log); // A crash after the journal fsync: no checkpoint for 300..700.

        let log = Log::open(&dir.0, Options::default()).expect("reopen");
        assert_eq!(
            (log.size(), log.published_size(), log.root()),
            (700, 700, root)
        );
        assert_eq!(log.entry(650).expect("entry"), entry(650));
        verify_dir(&dir.0, &log.verifier()).expect("verifies");
        assert_eq!(
            fs::metadata(dir.0.join(JOURNAL_FILE))
                .expect("journal")
                .len(),
            0
        );
    }

    #[test]
    fn a_torn_journal_tail_is_cut_on_open() {
        let dir = TestDir::new("torn");
        let mut log = Log::create(&dir.0, "test.example/log", Options::default()).expect("create");
        log.append(&(0..10).map(entry).collect::<Vec<_>>())
            .expect("append");
        log.publish().expect("publish");
        log.append(&(10..20).map(entry).collect::<Vec<_>>())
            .expect("append");
        let durable_root = log.root();
        log.append(&(20..30).map(entry).collect::<Vec<_>>())
            .expect("append");
        drop(log);
        let journal = dir.0.join(JOURNAL_FILE);
        let full = fs::read(&journal).expect("journal");
        let second_batch = full.len() / 2;
        // Cut the second batch anywhere: only the first survives.
        for cut in [second_batch + 1, second_batch + 40, full.len() - 1] {
            fs::write(&journal, &full[..cut]).expect("write");
            let log = Log::open(&dir.0, Options::default()).expect("reopen repairs");
            assert_eq!((log.size(), log.root()), (20, durable_root), "cut at {cut}");
            drop(log);
            // The open published size 20 and emptied the journal. The next round puts the old
            // journal back: a crash between a checkpoint and the journal's reset, on top of a tear.
        }
    }

    #[test]
    fn a_damaged_level4_cache_is_rebuilt_on_open() {
        let dir = TestDir::new("nodes");
        let mut log = Log::create(&dir.0, "test.example/log", fast()).expect("create");
        let entries: Vec<Vec<u8>> = (0..1000).map(entry).collect();
        log.append(&entries).expect("append");
        log.publish().expect("publish");
        let leaves: Vec<Hash> = entries.iter().map(|entry| leaf_hash(entry)).collect();
        let root = log.root();
        drop(log);
        let nodes = dir.0.join(NODES_FILE);
        let mut bytes = fs::read(&nodes).expect("nodes");
        assert_eq!(bytes.len(), 3 * 16 * 32);
        bytes[600] ^= 1;
        bytes.truncate(bytes.len() - 10);
        fs::write(&nodes, &bytes).expect("write");
        let log = Log::open(&dir.0, fast()).expect("reopen");
        for index in [0, 300, 555, 767, 999] {
            let proof = log.inclusion_proof(index, 1000).expect("proof");
            verify_inclusion(&leaves[index as usize], index, 1000, &proof, &root)
                .expect("verifies");
        }
        assert_eq!(fs::read(&nodes).expect("nodes").len(), 3 * 16 * 32);
        drop(log);
        fs::remove_file(&nodes).expect("remove");
        let log = Log::open(&dir.0, fast()).expect("reopen without the cache");
        let proof = log.inclusion_proof(555, 1000).expect("proof");
        verify_inclusion(&leaves[555], 555, 1000, &proof, &root).expect("verifies");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_second_writer_is_refused_while_the_first_has_the_log_open() {
        let dir = TestDir::new("busy");
        let log = Log::create(&dir.0, "test.example/log", fast()).expect("create");
        assert!(matches!(Log::open(&dir.0, fast()), Err(Error::Busy { .. })));
        drop(log);
        Log::open(&dir.0, fast()).expect("free again");
    }

    #[test]
    fn oversized_entries_are_refused_before_anything_is_written() {
        let dir = TestDir::new("oversized");
        let mut log = Log::create(&dir.0, "test.example/log", fast()).expect("create");
        let entries = vec![vec![1u8; 10], vec![0u8; MAX_ENTRY_LEN + 1]];
        assert!(matches!(
            log.append(&entries),
            Err(Error::EntryTooLarge { .. })
        ));
        assert_eq!(log.size(), 0);
        assert_eq!(
            fs::metadata(dir.0.join(JOURNAL_FILE))
                .expect("journal")
                .len(),
            0
        );
        log.append(&[vec![7u8; MAX_ENTRY_LEN]])
            .expect("the largest entry fits");
    }

    #[test]
    fn creating_over_an_existing_log_is_refused() {
        let dir = TestDir::new("twice");
        Log::create(&dir.0, "test.example/log", fast()).expect("create");
        assert!(matches!(
            Log::create(&dir.0, "test.example/log", fast()),
            Err(Error::Directory { .. })
        ));
        assert!(matches!(
            Log::open(&dir.0.join("nothing"), fast()),
            Err(Error::Directory { .. })
        ));
    }

    #[test]
    fn threads_share_group_commits() {
        let dir = TestDir::new("group");
        let log = Log::create(&dir.0, "test.example/log", Options::default()).expect("create");
        let group = std::sync::Arc::new(crate::GroupCommit::new(log));
        let threads: Vec<_> = (0..8u64)
            .map(|thread| {
                let group = group.clone();
                std::thread::spawn(move || {
                    (0..50u64)
                        .map(|n| {
                            let entry = format!("thread {thread} entry {n}").into_bytes();
                            (group.append(entry.clone()).expect("append"), entry)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut acknowledged: Vec<(u64, Vec<u8>)> = threads
            .into_iter()
            .flat_map(|thread| thread.join().expect("thread"))
            .collect();
        acknowledged.sort();
        assert_eq!(
            acknowledged
                .iter()
                .map(|(index, _)| *index)
                .collect::<Vec<_>>(),
            (0..400).collect::<Vec<_>>()
        );
        assert!(group.commits() <= 400);
        group.publish().expect("publish");
        let group = std::sync::Arc::into_inner(group).expect("no other owner");
        let log = group.into_log().expect("log");
        for (index, entry) in acknowledged {
            assert_eq!(log.entry(index).expect("entry"), entry);
        }
    }
}
