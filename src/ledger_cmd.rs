//! `roadcode ledger ...`: create, append to, verify and prove things about a ledger directory, and
//! cosign its checkpoints as a department's witness. Output for machines is JSON.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Args, Subcommand};
use ledger::{
    ConsistencyBundle, Durability, InclusionBundle, KeyKind, Log, Note, Options, Policy, SignerKey,
    VerifierKey, WitnessState,
};
use serde_json::json;

/// The ledger: an append-only log that departments can verify on their own.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Create a new log and its signing key in DIR.
    Init {
        /// The log directory (created; must not hold a log).
        dir: PathBuf,
        /// The log's origin line and key name, a schema-less URL.
        #[arg(long, default_value = "roadcode.city/ledger")]
        origin: String,
    },
    /// Append each line of standard input as one entry; print one JSON line per group commit once
    /// its entries are durable and a checkpoint covers them.
    Append {
        /// The log directory.
        dir: PathBuf,
        /// How many lines share one journal write, fsync and checkpoint.
        #[arg(long, default_value_t = 100_000)]
        batch: usize,
    },
    /// Recompute every hash from the entries and tiles and check the checkpoint's signature.
    Verify {
        /// The log directory.
        dir: PathBuf,
        /// The log's verifier key (a file, or the vkey text); default: DIR/log.pub.
        #[arg(long)]
        key: Option<String>,
        /// A witness's cosignature verifier key (a file, or the vkey text); repeat for each.
        #[arg(long)]
        witness: Vec<String>,
        /// How many of the witnesses must have cosigned the checkpoint (default: all given).
        #[arg(long)]
        quorum: Option<usize>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a proof bundle: inclusion of entry --index, or consistency from size --from.
    Prove {
        /// The log directory.
        dir: PathBuf,
        /// The entry whose inclusion to prove.
        #[arg(long, conflicts_with = "from", required_unless_present = "from")]
        index: Option<u64>,
        /// The older size from which to prove consistency (for a witness).
        #[arg(long)]
        from: Option<u64>,
    },
    /// Check an inclusion proof bundle offline against the log's key and a witness policy.
    CheckProof {
        /// The bundle file, from `prove --index`.
        bundle: PathBuf,
        /// The log's verifier key (a file, or the vkey text).
        #[arg(long)]
        key: String,
        /// A witness's cosignature verifier key (a file, or the vkey text); repeat for each.
        #[arg(long)]
        witness: Vec<String>,
        /// How many of the witnesses must have cosigned.
        #[arg(long, default_value_t = 0)]
        quorum: usize,
    },
    /// Print entries as JSON lines: {"index": I, "base64": "..."}.
    Entries {
        /// The log directory.
        dir: PathBuf,
        /// The first index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// How many entries at most.
        #[arg(long)]
        count: Option<u64>,
    },
    /// A department's witness: keep a key, cosign checkpoints that extend what it signed before.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Measure appends, proofs and verification on a new log in DIR; print JSON medians.
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
enum WitnessCommand {
    /// Create a witness key and state in WDIR for the log with key --log-key.
    Init {
        /// The witness directory.
        wdir: PathBuf,
        /// The witness's key name, a schema-less URL.
        #[arg(long)]
        name: String,
        /// The log's verifier key (a file, or the vkey text).
        #[arg(long)]
        log_key: String,
    },
    /// Check a consistency bundle (from `prove --from <the witness's size>`) and cosign its checkpoint.
    Cosign {
        /// The witness directory.
        wdir: PathBuf,
        /// The consistency bundle file.
        bundle: PathBuf,
    },
    /// Add a witness's cosignature line to the log's current checkpoint, after checking it.
    Attach {
        /// The log directory.
        dir: PathBuf,
        /// The witness's verifier key (a file, or the vkey text).
        #[arg(long)]
        witness_key: String,
        /// The cosignature line printed by `witness cosign`.
        #[arg(long)]
        cosignature: String,
    },
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// A directory for the benchmark's log (must not exist); removed afterwards unless --keep.
    dir: PathBuf,
    /// How many entries to append.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Entries per append call (one journal write and one fsync each).
    #[arg(long, default_value_t = 10_000)]
    batch: u64,
    /// Bytes per entry.
    #[arg(long, default_value_t = 200)]
    entry_size: usize,
    /// Publish a checkpoint after this many entries.
    #[arg(long, default_value_t = 1_000_000)]
    publish_every: u64,
    /// How many random inclusion proofs to time.
    #[arg(long, default_value_t = 10_000)]
    proofs: u64,
    /// Skip every fsync, to measure what durability costs.
    #[arg(long)]
    no_fsync: bool,
    /// Keep the log afterwards.
    #[arg(long)]
    keep: bool,
    /// Also measure group commit: this many threads append single entries to a second log (in
    /// DIR.group) through `GroupCommit`; 0 skips it.
    #[arg(long, default_value_t = 0)]
    threads: u64,
    /// How many single-entry appends the group-commit measurement makes, over all threads.
    #[arg(long, default_value_t = 100_000)]
    group_entries: u64,
}

/// Runs one `roadcode ledger` command.
pub fn run(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LedgerCommand::Init { dir, origin } => init(&dir, &origin),
        LedgerCommand::Append { dir, batch } => append(&dir, batch),
        LedgerCommand::Verify {
            dir,
            key,
            witness,
            quorum,
            json,
        } => verify(&dir, key.as_deref(), &witness, quorum, json),
        LedgerCommand::Prove { dir, index, from } => prove(&dir, index, from),
        LedgerCommand::CheckProof {
            bundle,
            key,
            witness,
            quorum,
        } => check_proof(&bundle, &key, &witness, quorum),
        LedgerCommand::Entries { dir, from, count } => entries(&dir, from, count),
        LedgerCommand::Witness { command } => match command {
            WitnessCommand::Init {
                wdir,
                name,
                log_key,
            } => witness_init(&wdir, &name, &log_key),
            WitnessCommand::Cosign { wdir, bundle } => witness_cosign(&wdir, &bundle),
            WitnessCommand::Attach {
                dir,
                witness_key,
                cosignature,
            } => witness_attach(&dir, &witness_key, &cosignature),
        },
        LedgerCommand::Bench(args) => bench(&args),
    }
}

fn init(dir: &Path, origin: &str) -> anyhow::Result<ExitCode> {
    let log = Log::create(dir, origin, Options::default()).context("cannot create the log")?;
    print_json(&json!({"dir": dir, "origin": origin, "key": log.verifier().to_string()}))
}

/// What `append` prints after each group commit, fields in this order.
#[derive(serde::Serialize)]
struct AppendReport {
    first_index: u64,
    count: u64,
    size: u64,
    root: String,
}

fn append(dir: &Path, batch: usize) -> anyhow::Result<ExitCode> {
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let mut log = Log::open(dir, Options::default()).context("cannot open the log")?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut stdout = std::io::stdout().lock();
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(batch.min(1 << 16));
    let mut line_number = 0u64;
    loop {
        let mut line = Vec::new();
        // At most one byte past the limit and the newline: an endless line is refused, not buffered.
        let read = (&mut input)
            .take(ledger::MAX_ENTRY_LEN as u64 + 2)
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?;
        if read > 0 {
            line_number += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if line.len() > ledger::MAX_ENTRY_LEN {
                bail!(
                    "line {line_number}: entry is longer than the limit of {} bytes",
                    ledger::MAX_ENTRY_LEN
                );
            }
            lines.push(line);
        }
        if !lines.is_empty() && (lines.len() == batch || read == 0) {
            let range = log.append(&lines).context("cannot append")?;
            log.publish().context("cannot publish a checkpoint")?;
            let report = AppendReport {
                first_index: range.start,
                count: range.end - range.start,
                size: log.size(),
                root: log.root().to_hex(),
            };
            writeln!(stdout, "{}", serde_json::to_string(&report)?)?;
            stdout.flush()?;
            lines.clear();
        }
        if read == 0 {
            if line_number == 0 {
                // Empty input: say so in the same shape, so that scripts always get one line.
                let report = AppendReport {
                    first_index: log.size(),
                    count: 0,
                    size: log.size(),
                    root: log.root().to_hex(),
                };
                writeln!(stdout, "{}", serde_json::to_string(&report)?)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
}

fn verify(
    dir: &Path,
    key: Option<&str>,
    witnesses: &[String],
    quorum: Option<usize>,
    json_output: bool,
) -> anyhow::Result<ExitCode> {
    let key = match key {
        Some(key) => load_verifier(key)?,
        None => load_verifier(&dir.join(ledger::PUBLIC_KEY_FILE).to_string_lossy())?,
    };
    // The writer's own directory is reopened first, which repairs what a crash left behind. A
    // department's copy (no signing key) is only read.
    if dir.join(ledger::KEY_FILE).exists() {
        match Log::open(dir, Options::default()) {
            // A running writer repairs its own log; check what it has published.
            Ok(_) | Err(ledger::Error::Busy { .. }) => {}
            Err(open_error) => {
                // The offline check names the first bad file more precisely, when it finds one.
                ledger::verify_dir(dir, &key)
                    .with_context(|| format!("{} does not verify", dir.display()))?;
                return Err(open_error)
                    .with_context(|| format!("{} does not verify", dir.display()));
            }
        }
    }
    let report = ledger::verify_dir(dir, &key)
        .with_context(|| format!("{} does not verify", dir.display()))?;
    // The witnesses' cosignatures on the checkpoint, when the caller names the witnesses.
    let policy = Policy {
        log: key,
        witnesses: witnesses
            .iter()
            .map(|key| load_verifier(key))
            .collect::<anyhow::Result<_>>()?,
        quorum: quorum.unwrap_or(witnesses.len()),
    };
    let note_path = dir.join(ledger::CHECKPOINT_FILE);
    let note = Note::parse(
        &std::fs::read(&note_path)
            .with_context(|| format!("cannot read {}", note_path.display()))?,
    )?;
    policy
        .verify(&note)
        .with_context(|| format!("{} does not verify", note_path.display()))?;
    if json_output {
        let mut value = serde_json::to_value(&report)?;
        value["witnesses_required"] = json!(policy.quorum);
        println!("{value}");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("ok: {} entries, root {}", report.size, report.root);
        Ok(ExitCode::SUCCESS)
    }
}

fn prove(dir: &Path, index: Option<u64>, from: Option<u64>) -> anyhow::Result<ExitCode> {
    let log = Log::open(dir, Options::default()).context("cannot open the log")?;
    let text = match (index, from) {
        (Some(index), _) => serde_json::to_string(&InclusionBundle::prove(&log, index)?)?,
        (None, Some(from)) => serde_json::to_string(&ConsistencyBundle::prove(&log, from)?)?,
        (None, None) => bail!("give --index or --from"),
    };
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn check_proof(
    bundle: &Path,
    key: &str,
    witnesses: &[String],
    quorum: usize,
) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(bundle).with_context(|| format!("cannot read {}", bundle.display()))?;
    let bundle = InclusionBundle::from_json(&bytes)?;
    let policy = Policy {
        log: load_verifier(key)?,
        witnesses: witnesses
            .iter()
            .map(|key| load_verifier(key))
            .collect::<anyhow::Result<_>>()?,
        quorum,
    };
    let proven = bundle
        .check(&policy)
        .context("the proof bundle does not verify")?;
    print_json(&json!({
        "index": proven.index,
        "size": proven.checkpoint.size,
        "root": proven.checkpoint.root.to_hex(),
        "entry": BASE64.encode(&proven.entry),
    }))
}

fn entries(dir: &Path, from: u64, count: Option<u64>) -> anyhow::Result<ExitCode> {
    let log = Log::open(dir, Options::default()).context("cannot open the log")?;
    let end = count.map_or(log.size(), |count| {
        from.saturating_add(count).min(log.size())
    });
    let mut stdout = std::io::stdout().lock();
    for index in from..end {
        let entry = log.entry(index)?;
        writeln!(
            stdout,
            "{}",
            json!({"index": index, "base64": BASE64.encode(entry)})
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

const WITNESS_KEY_FILE: &str = "witness.key";
const WITNESS_STATE_FILE: &str = "state.json";

fn witness_init(wdir: &Path, name: &str, log_key: &str) -> anyhow::Result<ExitCode> {
    let log_key = load_verifier(log_key)?;
    if wdir.join(WITNESS_KEY_FILE).exists() {
        bail!("{} already holds a witness", wdir.display());
    }
    std::fs::create_dir_all(wdir).with_context(|| format!("cannot create {}", wdir.display()))?;
    let key = SignerKey::generate(name, KeyKind::Cosignature)?;
    write_secret(
        &wdir.join(WITNESS_KEY_FILE),
        &format!("{}\n", key.to_secret_string()),
    )?;
    std::fs::write(wdir.join("witness.pub"), format!("{}\n", key.verifier()))?;
    write_state(wdir, &WitnessState::new(&log_key))?;
    print_json(&json!({"witness": wdir, "key": key.verifier().to_string()}))
}

fn witness_cosign(wdir: &Path, bundle: &Path) -> anyhow::Result<ExitCode> {
    let key_text = std::fs::read_to_string(wdir.join(WITNESS_KEY_FILE))
        .with_context(|| format!("{} holds no witness key", wdir.display()))?;
    let key = SignerKey::parse(&key_text)?;
    let state_path = wdir.join(WITNESS_STATE_FILE);
    let mut state: WitnessState = serde_json::from_slice(
        &std::fs::read(&state_path)
            .with_context(|| format!("cannot read {}", state_path.display()))?,
    )
    .with_context(|| format!("{} is not a witness state", state_path.display()))?;
    let bytes =
        std::fs::read(bundle).with_context(|| format!("cannot read {}", bundle.display()))?;
    let bundle = ConsistencyBundle::from_json(&bytes)?;
    if bundle.old_size != state.size {
        bail!(
            "the bundle proves consistency from size {}, but this witness last cosigned size {}",
            bundle.old_size,
            state.size
        );
    }
    let (note, proof) = bundle.parts()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let line = state.cosign(&key, &note, &proof, now)?;
    write_state(wdir, &state)?;
    print_json(
        &json!({"size": state.size, "root": state.root, "cosignature": line.to_line().trim_end()}),
    )
}

fn witness_attach(dir: &Path, witness_key: &str, cosignature: &str) -> anyhow::Result<ExitCode> {
    let witness = load_verifier(witness_key)?;
    let mut log = Log::open(dir, Options::default()).context("cannot open the log")?;
    // Parse the line the way it sits in a note.
    let probe = format!("{}\n{}\n", log.checkpoint().text(), cosignature.trim_end());
    let parsed = Note::parse(probe.as_bytes()).context("not a cosignature line")?;
    let line = parsed
        .signatures()
        .iter()
        .find(|signature| witness.matches(signature))
        .cloned()
        .context("the line is not from that witness key")?;
    log.add_cosignature(&witness, line)
        .context("the cosignature does not verify against the current checkpoint")?;
    print_json(
        &json!({"size": log.published_size(), "cosignatures": log.checkpoint().signatures().len() - 1}),
    )
}

fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if args.batch == 0 || args.entries == 0 || args.entry_size < 8 {
        bail!("--entries and --batch must be positive and --entry-size at least 8");
    }
    if args.dir.exists() {
        bail!("{} exists; give a new directory", args.dir.display());
    }
    let durability = if args.no_fsync {
        Durability::NoSync
    } else {
        Durability::Fsync
    };
    let mut log = Log::create(&args.dir, "bench.roadcode/ledger", Options { durability })?;
    let mut batch_seconds = Vec::new();
    let mut publish_seconds = Vec::new();
    let mut append_total = 0.0;
    let mut next = 0u64;
    let mut since_publish = 0u64;
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut append_cpu = 0.0;
    while next < args.entries {
        let count = args.batch.min(args.entries - next);
        entries.clear();
        entries.extend((next..next + count).map(|index| bench_entry(index, args.entry_size)));
        let cpu_before = process_cpu_seconds();
        let started = Instant::now();
        log.append(&entries)?;
        let elapsed = started.elapsed().as_secs_f64();
        append_cpu += process_cpu_seconds()
            .zip(cpu_before)
            .map_or(0.0, |(after, before)| after - before);
        append_total += elapsed;
        if count == args.batch {
            batch_seconds.push(elapsed);
        }
        next += count;
        since_publish += count;
        if since_publish >= args.publish_every || next == args.entries {
            let started = Instant::now();
            log.publish()?;
            publish_seconds.push(started.elapsed().as_secs_f64());
            since_publish = 0;
        }
    }
    let size = log.size();
    let mut proof_micros = Vec::new();
    let mut bundle_micros = Vec::new();
    let mut random = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..args.proofs {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let index = random % size;
        let started = Instant::now();
        let proof = log.inclusion_proof(index, size)?;
        proof_micros.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(proof);
        let started = Instant::now();
        let bundle = InclusionBundle::prove(&log, index)?;
        bundle_micros.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(bundle);
    }
    let key = log.verifier();
    drop(log);
    let started = Instant::now();
    let report = ledger::verify_dir(&args.dir, &key)?;
    let group = if args.threads > 0 {
        Some(bench_group_commit(args, durability)?)
    } else {
        None
    };
    let verify_seconds = started.elapsed().as_secs_f64();
    if !args.keep {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("cannot remove {}", args.dir.display()))?;
    }
    let median_batch = median(&mut batch_seconds);
    print_json(&json!({
        "entries": size,
        "entry_size": args.entry_size,
        "batch": args.batch,
        "fsync": !args.no_fsync,
        "append_median_batch_entries_per_second": median_batch.map(|seconds| args.batch as f64 / seconds),
        "append_overall_entries_per_second": size as f64 / append_total,
        "append_cpu_seconds": append_cpu,
        "append_entries_per_cpu_second": size as f64 / append_cpu,
        "load_average": std::fs::read_to_string("/proc/loadavg").ok().map(|text| text.trim().to_owned()),
        "publish_median_seconds": median(&mut publish_seconds),
        "publishes": publish_seconds.len(),
        "overall_with_publish_entries_per_second": size as f64 / (append_total + publish_seconds.iter().sum::<f64>()),
        "proofs": args.proofs,
        "inclusion_proof_median_micros": median(&mut proof_micros),
        "inclusion_proof_p99_micros": percentile(&mut proof_micros, 0.99),
        "proof_bundle_median_micros": median(&mut bundle_micros),
        "verify_seconds": verify_seconds,
        "verified_root": report.root.to_hex(),
        "group_commit": group,
    }))
}

/// Threads append one entry at a time through `GroupCommit`: how many entries per second, and how
/// many entries shared each journal write and fsync.
fn bench_group_commit(
    args: &BenchArgs,
    durability: Durability,
) -> anyhow::Result<serde_json::Value> {
    let dir = args.dir.with_extension("group");
    if dir.exists() {
        bail!("{} exists; give a new directory", dir.display());
    }
    let log = Log::create(&dir, "bench.roadcode/group", Options { durability })?;
    let group = std::sync::Arc::new(ledger::GroupCommit::new(log));
    let per_thread = args.group_entries / args.threads;
    let started = Instant::now();
    let workers: Vec<_> = (0..args.threads)
        .map(|thread| {
            let group = group.clone();
            let entry_size = args.entry_size;
            std::thread::spawn(move || -> ledger::Result<()> {
                for n in 0..per_thread {
                    group.append(bench_entry(thread * per_thread + n, entry_size))?;
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("an appending thread panicked"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let commits = group.commits();
    group.publish()?;
    drop(group);
    if !args.keep {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let appended = per_thread * args.threads;
    Ok(json!({
        "threads": args.threads,
        "entries": appended,
        "entries_per_second": appended as f64 / seconds,
        "commits": commits,
        "entries_per_commit": appended as f64 / commits.max(1) as f64,
    }))
}

/// CPU time (user and system, all threads) of this process so far, from `/proc/self/stat` in clock
/// ticks of 1/100 s; `None` where there is no such file.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// A deterministic entry of `size` bytes: its index, then filler that differs per entry.
fn bench_entry(index: u64, size: usize) -> Vec<u8> {
    let mut entry = Vec::with_capacity(size);
    entry.extend_from_slice(&index.to_be_bytes());
    let mut state = index.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    while entry.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        entry.push(b'a' + (state % 26) as u8);
    }
    entry
}

fn median(values: &mut [f64]) -> Option<f64> {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f64], fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let position = ((values.len() - 1) as f64 * fraction).round() as usize;
    Some(values[position])
}

/// A verifier key given as a file path or as the vkey text itself.
fn load_verifier(key: &str) -> anyhow::Result<VerifierKey> {
    let path = Path::new(key);
    let text = if path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {key}"))?
    } else {
        key.to_owned()
    };
    VerifierKey::parse(text.trim()).with_context(|| format!("{key} is not a verifier key"))
}

fn write_state(wdir: &Path, state: &WitnessState) -> anyhow::Result<()> {
    let path = wdir.join(WITNESS_STATE_FILE);
    let temporary = wdir.join("state.json.tmp");
    let mut file = std::fs::File::create(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    file.write_all(serde_json::to_string_pretty(state)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, &path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::File::open(wdir)?.sync_all()?;
    Ok(())
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{value}")?;
    Ok(ExitCode::SUCCESS)
}
