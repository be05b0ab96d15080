//! A writer killed with SIGKILL at random moments loses nothing it committed and leaves no
//! half-written record.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use slipway_store::{Build, BuildId, BuildQuery, BuildStore, SqliteStore};

use crate::support::{Random, RoleProcess, generated, role, sequence_of, test_name};

const RUNS: u64 = 24;
/// Run `r` writes sequence numbers from `r * SEQUENCES_PER_RUN`.
const SEQUENCES_PER_RUN: u64 = 1_000_000;
const STATE_DIR_VARIABLE: &str = "SLIPWAY_TEST_STATE_DIR";
const FIRST_SEQUENCE_VARIABLE: &str = "SLIPWAY_TEST_FIRST_SEQUENCE";
/// Written after each commit, followed by the sequence number and the id.
const ACK: &str = "<ack>";

/// Odd runs write 1 MB logs, so that kills land in the middle of large transactions.
fn log_bytes(sequence: u64) -> usize {
    if (sequence / SEQUENCES_PER_RUN) % 2 == 1 {
        1024 * 1024
    } else {
        2048
    }
}

fn expected(sequence: u64) -> slipway_store::NewBuild {
    generated(sequence, log_bytes(sequence))
}

#[test]
fn a_writer_killed_at_random_moments_loses_no_acknowledged_build() {
    if let Some(role) = role() {
        assert_eq!(role, "writer");
        return write_until_killed();
    }
    let state = tempfile::tempdir().unwrap();
    let mut random = Random::from_environment();
    let test = test_name(
        module_path!(),
        "a_writer_killed_at_random_moments_loses_no_acknowledged_build",
    );
    let mut acknowledged = Vec::new();
    let mut verified_through = 0;

    for run in 0..RUNS {
        let mut writer = RoleProcess::spawn(
            &test,
            "writer",
            &[
                (STATE_DIR_VARIABLE, state.path().display().to_string()),
                (
                    FIRST_SEQUENCE_VARIABLE,
                    (run * SEQUENCES_PER_RUN).to_string(),
                ),
            ],
        );
        // Every fourth run is killed whenever it is, maybe while it opens the store (the first
        // time, maybe while it migrates); the others once they are writing.
        let acks_before_kill = if run % 4 == 0 { 0 } else { 1 + random.below(3) };
        let mut this_run = Vec::new();
        for _ in 0..acks_before_kill {
            this_run.push(parse_ack(
                &writer
                    .next(ACK)
                    .expect("the writer exited before it was killed"),
            ));
        }
        std::thread::sleep(Duration::from_millis(random.below(60)));
        writer.kill();
        // Lines still in the pipe were written after their commit: they count too.
        while let Some(ack) = writer.next(ACK) {
            this_run.push(parse_ack(&ack));
        }

        let store = SqliteStore::open(state.path()).unwrap();
        store.integrity_check().unwrap();
        for (sequence, id) in &this_run {
            assert_eq!(
                store.build(*id).unwrap(),
                Some(Build {
                    id: *id,
                    record: expected(*sequence)
                })
            );
        }
        verified_through = check_records_after(&store, verified_through);
        acknowledged.extend(this_run);
    }

    let large = acknowledged
        .iter()
        .filter(|(sequence, _)| log_bytes(*sequence) > 1_000_000)
        .count();
    eprintln!(
        "{RUNS} writers killed; {} builds acknowledged ({large} with 1 MB logs); {verified_through} checked whole",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 18,
        "only {} builds were acknowledged",
        acknowledged.len()
    );
    assert!(large > 0, "no build with a large log was acknowledged");
    let store = SqliteStore::open(state.path()).unwrap();
    for (sequence, id) in acknowledged {
        assert_eq!(
            store.build(id).unwrap(),
            Some(Build {
                id,
                record: expected(sequence)
            })
        );
    }
}

/// The writer's role: records builds until killed, acknowledging each after its commit.
fn write_until_killed() {
    let dir = PathBuf::from(std::env::var(STATE_DIR_VARIABLE).unwrap());
    let first: u64 = std::env::var(FIRST_SEQUENCE_VARIABLE)
        .unwrap()
        .parse()
        .unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    let mut stdout = std::io::stdout().lock();
    // Bounded, so that a writer nobody kills stops by itself; a writer whose parent is gone
    // stops at its next line, on the broken pipe.
    for sequence in first..first + 5_000 {
        let id = store.record_build(&expected(sequence)).unwrap();
        if writeln!(stdout, "{ACK}{sequence} {id}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}

fn parse_ack(ack: &str) -> (u64, BuildId) {
    let (sequence, id) = ack.split_once(' ').unwrap();
    (sequence.parse().unwrap(), id.parse().unwrap())
}

/// Checks every build with an id above `verified_through`, acknowledged or not (the writer may
/// have been killed between a commit and its acknowledgement), and returns the newest id.
///
/// Ids come from AUTOINCREMENT and a rolled-back insert takes none, so they have no gaps: a
/// missing id below the newest one is a lost record, and a record that differs from what was
/// generated for its sequence number is a half-written one.
fn check_records_after(store: &SqliteStore, verified_through: i64) -> i64 {
    let newest = store
        .builds(&BuildQuery {
            limit: Some(1),
            ..BuildQuery::default()
        })
        .unwrap();
    let Some(newest) = newest.first() else {
        return verified_through;
    };
    for id in verified_through + 1..=newest.id.get() {
        let build = store
            .build(BuildId::new(id))
            .unwrap()
            .unwrap_or_else(|| panic!("build {id} is missing, yet build {} exists", newest.id));
        assert_eq!(
            build.record,
            expected(sequence_of(&build.record)),
            "build {id} is not whole"
        );
    }
    newest.id.get()
}
