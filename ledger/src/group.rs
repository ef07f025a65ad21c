//! Group commit: many threads append one entry each; the entries that arrive while a commit is
//! under way share the next journal write and fsync.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::log::Log;
use crate::note::Note;
use crate::tile::MAX_ENTRY_LEN;

/// A log shared by many appending threads.
///
/// The first thread that finds no commit under way becomes the leader: it takes every waiting
/// entry, appends them with one write and one fsync, hands each thread its index and wakes them.
/// Entries that arrive during that fsync wait for the next leader, so under load each fsync carries
/// many entries.
#[derive(Debug)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
    committed: Condvar,
    log: Mutex<Log>,
}

#[derive(Debug, Default)]
struct Queue {
    pending: Vec<Vec<u8>>,
    /// The ticket of `pending[0]`.
    first_ticket: u64,
    next_ticket: u64,
    committing: bool,
    /// The outcome of each committed ticket, until its thread takes it.
    outcomes: HashMap<u64, Result<u64, String>>,
    commits: u64,
}

impl GroupCommit {
    /// Shares `log` between threads.
    pub fn new(log: Log) -> GroupCommit {
        GroupCommit {
            queue: Mutex::new(Queue::default()),
            committed: Condvar::new(),
            log: Mutex::new(log),
        }
    }

    /// Appends one entry; returns its index once it is durable.
    pub fn append(&self, entry: Vec<u8>) -> Result<u64> {
        if entry.len() > MAX_ENTRY_LEN {
            return Err(Error::EntryTooLarge {
                len: entry.len(),
                max: MAX_ENTRY_LEN,
            });
        }
        let mut queue = self.lock_queue()?;
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        if queue.pending.is_empty() {
            queue.first_ticket = ticket;
        }
        queue.pending.push(entry);
        loop {
            if let Some(outcome) = queue.outcomes.remove(&ticket) {
                return outcome.map_err(Error::GroupCommit);
            }
            if !queue.committing && !queue.pending.is_empty() {
                let batch = std::mem::take(&mut queue.pending);
                let first_ticket = queue.first_ticket;
                queue.committing = true;
                drop(queue);
                let outcome = self.lock_log().and_then(|mut log| log.append(&batch));
                queue = self.lock_queue()?;
                for offset in 0..batch.len() as u64 {
                    let result = match &outcome {
                        Ok(range) => Ok(range.start + offset),
                        Err(error) => Err(error.to_string()),
                    };
                    queue.outcomes.insert(first_ticket + offset, result);
                }
                queue.committing = false;
                queue.commits += 1;
                self.committed.notify_all();
                continue;
            }
            queue = self.committed.wait(queue).map_err(|_| poisoned())?;
        }
    }

    /// Publishes a checkpoint of everything appended so far; returns its note.
    pub fn publish(&self) -> Result<Note> {
        let mut log = self.lock_log()?;
        Ok(log.publish()?.clone())
    }

    /// How many journal writes (each with one fsync) the appends have shared.
    pub fn commits(&self) -> u64 {
        self.queue.lock().map(|queue| queue.commits).unwrap_or(0)
    }

    /// The log back, when no thread appends any more.
    pub fn into_log(self) -> Result<Log> {
        self.log.into_inner().map_err(|_| poisoned())
    }

    fn lock_queue(&self) -> Result<MutexGuard<'_, Queue>> {
        self.queue.lock().map_err(|_| poisoned())
    }

    fn lock_log(&self) -> Result<MutexGuard<'_, Log>> {
        self.log.lock().map_err(|_| poisoned())
    }
}

fn poisoned() -> Error {
    Error::GroupCommit("a thread panicked while committing".into())
}
