//! Scanning directory trees: parallel walking with `.gitignore`, relative paths, and the inputs
//! that make other scanners hang or run out of memory: huge files, endless lines, binary files,
//! FIFOs, and symbolic-link loops.

use std::io::Write;

use slipway_secrets::{FileOutcome, SecretScanner, TreeOptions};

use crate::samples::{ALNUM, random};

fn token(seed: u64) -> String {
    ["gh", "p_", &random(ALNUM, 36, seed)].concat()
}

#[test]
fn a_tree_is_scanned_with_relative_paths_and_gitignore_honoured() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(
        dir.path().join("src/deep/config.py"),
        format!("TOKEN = '{}'\n", token(1)),
    )
    .unwrap();
    std::fs::write(dir.path().join("ignored.log"), token(2)).unwrap();
    std::fs::write(dir.path().join(".gitignore"), "*.log\n").unwrap();
    std::fs::write(dir.path().join(".git/config"), token(3)).unwrap();
    std::fs::write(
        dir.path().join("image.bin"),
        [b"\0\0\0", token(4).as_bytes()].concat(),
    )
    .unwrap();

    let scan = SecretScanner::builtin().scan_tree(dir.path(), &TreeOptions::default());

    let paths: Vec<&str> = scan
        .findings
        .iter()
        .map(|finding| finding.path.as_str())
        .collect();
    assert_eq!(paths, ["src/deep/config.py"]);
    assert_eq!(scan.binary_files, 1);
    assert_eq!(scan.files, 2, "config.py and .gitignore");

    let everything = SecretScanner::builtin().scan_tree(
        dir.path(),
        &TreeOptions {
            respect_ignore_files: false,
            threads: 2,
        },
    );
    let paths: Vec<&str> = everything
        .findings
        .iter()
        .map(|finding| finding.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["ignored.log", "src/deep/config.py"],
        ".git is never scanned"
    );
}

#[test]
fn a_huge_file_is_scanned_in_bounded_chunks_and_secrets_across_chunk_edges_are_found_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let filler = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n";
    let mut line = 1;
    let mut expected = Vec::new();
    // Secrets placed around every multiple of the chunk size, where chunks meet.
    for chunk in 1..=24usize {
        while line * filler.len() < chunk * (1 << 20) - 100 {
            file.write_all(filler.as_bytes()).unwrap();
            line += 1;
        }
        writeln!(file, "token={}", token(chunk as u64)).unwrap();
        expected.push(line);
        line += 1;
    }
    drop(file);

    let outcome = SecretScanner::builtin()
        .scan_file(&path, "big.txt")
        .unwrap();

    let FileOutcome::Scanned { findings, bytes } = outcome else {
        panic!("not scanned")
    };
    assert!(bytes > 23 << 20, "{bytes}");
    let lines: Vec<usize> = findings.iter().map(|finding| finding.line).collect();
    assert_eq!(lines, expected);
}

#[test]
fn an_endless_line_does_not_hang_and_keeps_its_secrets() {
    // 40 MiB without a newline, keywords all along it, a secret in the middle and at the end.
    let mut text = "key=value ".repeat(2 << 20);
    text.push_str(&token(7));
    text.push_str(&" key=value".repeat(2 << 20));
    text.push(' ');
    text.push_str(&token(8));
    let FileOutcome::Scanned { findings, .. } =
        SecretScanner::builtin().scan_bytes("min.js", text.as_bytes())
    else {
        panic!()
    };
    let columns: Vec<usize> = findings.iter().map(|finding| finding.column).collect();
    assert_eq!(
        columns,
        [20 * (1 << 20) + 1, text.len() - 39],
        "{findings:?}"
    );
}

#[test]
fn fifos_and_symlink_loops_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("real.txt"), token(9)).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("outside")).unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());

    // Opening the FIFO would block for ever (nobody writes to it): a regression hangs here
    // until nextest's slow-timeout ends the test (.config/nextest.toml).
    let scan = SecretScanner::builtin().scan_tree(dir.path(), &TreeOptions::default());

    assert_eq!(scan.files, 1);
    assert_eq!(scan.findings.len(), 1);
    assert!(scan.unreadable.is_empty(), "{:?}", scan.unreadable);
}

#[test]
fn a_checkout_inside_an_ignored_directory_is_scanned_as_its_own_repository() {
    // A job's workspace: a checkout (with `.git`) under a state directory that ignores `*`.
    let outer = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outer.path().join(".git")).unwrap();
    std::fs::write(outer.path().join(".gitignore"), "*.log\n").unwrap();
    let state = outer.path().join(".slipway");
    let workspace = state.join("work/job-0/workspace");
    std::fs::create_dir_all(workspace.join(".git")).unwrap();
    std::fs::write(state.join(".gitignore"), "*\n").unwrap();
    std::fs::write(
        workspace.join("config.py"),
        format!("TOKEN = '{}'\n", token(5)),
    )
    .unwrap();
    std::fs::write(workspace.join("app.log"), token(6)).unwrap();
    // A plain subdirectory of the outer repository still honours the ignore files above it.
    std::fs::create_dir_all(outer.path().join("src")).unwrap();
    std::fs::write(outer.path().join("src/debug.log"), token(7)).unwrap();

    let in_workspace = SecretScanner::builtin().scan_tree(&workspace, &TreeOptions::default());
    let in_src =
        SecretScanner::builtin().scan_tree(&outer.path().join("src"), &TreeOptions::default());

    let paths: Vec<&str> = in_workspace
        .findings
        .iter()
        .map(|finding| finding.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["app.log", "config.py"],
        "nothing above the checkout applies"
    );
    assert!(in_src.findings.is_empty(), "{:?}", in_src.findings);
}

#[test]
fn keys_written_into_notes_are_found_in_every_file_type() {
    let dir = tempfile::tempdir().unwrap();
    let access_key = ["AK", "IA", &random(crate::samples::UPPER32, 16, 400)].concat();
    let note = format!(
        "Notes from the call\n\nThe deploy user is ci-bot, key {access_key}, ask Sam for the rest.\nToken for the bot: {}.\n",
        token(401)
    );
    let names = [
        "notes.txt",
        "NOTES.md",
        ".env",
        "config.json",
        "README",
        "todo.org",
    ];
    for name in names {
        std::fs::write(dir.path().join(name), &note).unwrap();
    }
    let scan = SecretScanner::builtin().scan_tree(
        dir.path(),
        &TreeOptions {
            respect_ignore_files: true,
            threads: 2,
        },
    );
    for name in names {
        let found: Vec<(&str, usize)> = scan
            .findings
            .iter()
            .filter(|finding| finding.path == name)
            .map(|finding| (finding.rule_id.as_str(), finding.line))
            .collect();
        assert_eq!(
            found,
            [("aws-access-key-id", 3), ("github-pat", 4)],
            "{name}"
        );
    }
}

#[test]
fn a_note_saved_as_utf16_is_text_and_its_keys_are_found() {
    let access_key = ["AK", "IA", &random(crate::samples::UPPER32, 16, 410)].concat();
    let note = format!("Notes\r\nkey {access_key}\r\ntoken {}\r\n", token(411));
    let mut little = vec![0xFF, 0xFE];
    let mut big = vec![0xFE, 0xFF];
    for unit in note.encode_utf16() {
        little.extend_from_slice(&unit.to_le_bytes());
        big.extend_from_slice(&unit.to_be_bytes());
    }
    for bytes in [little, big] {
        let FileOutcome::Scanned { findings, .. } =
            SecretScanner::builtin().scan_bytes("notes.txt", &bytes)
        else {
            panic!("a UTF-16 note is text");
        };
        let found: Vec<(&str, usize, usize)> = findings
            .iter()
            .map(|finding| (finding.rule_id.as_str(), finding.line, finding.column))
            .collect();
        assert_eq!(found, [("aws-access-key-id", 2, 5), ("github-pat", 3, 7)]);
    }
    // Without a byte order mark, NUL bytes still mean binary.
    assert_eq!(
        SecretScanner::builtin().scan_bytes("blob", b"AKIA\0\0\0"),
        FileOutcome::Binary
    );
}
