//! The context tar, read back with the `tar` crate.

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use slipway_context::{
    ContextError, ContextOptions, DockerIgnore, GENERATED_DOCKERFILE, write_context,
};

use crate::support::{TarEntry, make_tree, paths, read_tar, set_mode};

fn context_of(root: &std::path::Path, dockerfile: &str) -> Vec<TarEntry> {
    context_entries(root, &ContextOptions::new(dockerfile))
}

fn context_entries(root: &std::path::Path, options: &ContextOptions) -> Vec<TarEntry> {
    let mut tar = Vec::new();
    let stats = write_context(root, options, &mut tar).unwrap();
    assert_eq!(stats.bytes, tar.len() as u64);
    let entries = read_tar(&tar);
    let non_dirs = entries.iter().filter(|entry| entry.kind != '5').count() as u64;
    assert_eq!(stats.files, non_dirs);
    entries
}

#[test]
fn entries_keep_paths_modes_links_contents_and_mtimes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(
        root,
        &[
            "Dockerfile",
            "src/main.rs",
            "src/bin/run.sh",
            "empty/",
            "link -> src/main.rs",
            "escape -> /etc/passwd",
        ],
    );
    set_mode(&root.join("src/bin/run.sh"), 0o4755);
    fs::hard_link(root.join("src/main.rs"), root.join("src/again.rs")).unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    File::options()
        .write(true)
        .open(root.join("Dockerfile"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let entries = context_of(root, "Dockerfile");
    assert_eq!(
        paths(&entries),
        [
            "Dockerfile",
            "empty/",
            "escape",
            "link",
            "src/",
            "src/again.rs",
            "src/bin/",
            "src/bin/run.sh",
            "src/main.rs"
        ]
    );
    let by_path = |path: &str| entries.iter().find(|entry| entry.path == path).unwrap();
    let dockerfile = by_path("Dockerfile");
    assert_eq!(
        (dockerfile.kind, dockerfile.mode, dockerfile.mtime),
        ('0', 0o644, 1_700_000_000)
    );
    assert_eq!(dockerfile.content, b"Dockerfile");
    assert_eq!((by_path("src/").kind, by_path("src/").mode), ('5', 0o755));
    assert_eq!(
        (
            by_path("src/bin/run.sh").mode,
            by_path("src/bin/run.sh").content.as_slice()
        ),
        (0o4755, &b"src/bin/run.sh"[..])
    );
    assert_eq!(
        (by_path("link").kind, by_path("link").link.as_deref()),
        ('2', Some("src/main.rs"))
    );
    assert_eq!(
        by_path("escape").link.as_deref(),
        Some("/etc/passwd"),
        "symlinks are stored, never followed"
    );
    assert!(by_path("escape").content.is_empty());
    // The first of two hard links holds the content; the second points at it.
    assert_eq!(by_path("src/again.rs").content, b"src/main.rs");
    assert_eq!(
        (
            by_path("src/main.rs").kind,
            by_path("src/main.rs").link.as_deref()
        ),
        ('1', Some("src/again.rs"))
    );
    assert!(entries.iter().all(|entry| entry.uid == 0 && entry.gid == 0));
}

#[test]
fn excluded_entries_are_left_out_and_exceptions_reach_into_excluded_directories() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(
        root,
        &[
            "Dockerfile",
            "node_modules/a/index.js",
            "node_modules/keep/x.js",
            "app.log",
            "src/app.js",
            "src/debug.log",
        ],
    );
    fs::write(
        root.join(".dockerignore"),
        "node_modules\n!node_modules/keep\n*.log\n",
    )
    .unwrap();
    let entries = context_of(root, "Dockerfile");
    // As the CLI does, the excluded directory itself gets no entry.
    assert_eq!(
        paths(&entries),
        [
            ".dockerignore",
            "Dockerfile",
            "node_modules/keep/",
            "node_modules/keep/x.js",
            "src/",
            "src/app.js",
            "src/debug.log"
        ]
    );
}

#[test]
fn the_dockerfile_and_dockerignore_are_always_sent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(root, &["build/Dockerfile.prod", "build/other", "src/a"]);
    fs::write(root.join(".dockerignore"), "*\n!src\n").unwrap();
    let entries = context_of(root, "./build/../build/Dockerfile.prod");
    assert_eq!(
        paths(&entries),
        [".dockerignore", "build/Dockerfile.prod", "src/", "src/a"]
    );
}

#[test]
fn writing_twice_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &["Dockerfile", "b/c", "a/d", "z -> a"]);
    let write = || {
        let mut tar = Vec::new();
        write_context(dir.path(), &ContextOptions::default(), &mut tar).unwrap();
        tar
    };
    assert_eq!(write(), write());
}

#[test]
fn long_paths_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(150));
    make_tree(dir.path(), &["Dockerfile", &long, &format!("l -> {long}")]);
    let entries = context_of(dir.path(), "Dockerfile");
    assert_eq!(entries[2].path, long);
    assert_eq!(entries[2].content, long.as_bytes());
    assert_eq!(
        (entries[3].path.as_str(), entries[3].link.as_deref()),
        ("l", Some(long.as_str()))
    );
}

#[test]
fn a_missing_dockerfile_is_named_with_the_setting_to_change() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &["docker/"]);
    for dockerfile in ["Dockerfile", "docker"] {
        let error =
            write_context(dir.path(), &ContextOptions::new(dockerfile), Vec::new()).unwrap_err();
        assert!(
            matches!(error, ContextError::MissingDockerfile { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&dir.path().join(dockerfile).display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("dockerfile = ") && message.contains("slipway.toml"),
            "{message}"
        );
    }
}

#[test]
fn a_dockerfile_outside_the_context_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &["context/a", "Dockerfile", "context/inside -> ../Dockerfile"],
    );
    let context = dir.path().join("context");
    for dockerfile in [
        "../Dockerfile",
        "inside",
        dir.path().join("Dockerfile").to_str().unwrap(),
    ] {
        let error =
            write_context(&context, &ContextOptions::new(dockerfile), Vec::new()).unwrap_err();
        assert!(
            matches!(error, ContextError::DockerfileOutsideContext { .. }),
            "{dockerfile}: {error:?}"
        );
    }
    // An absolute path inside the context is fine.
    make_tree(&context, &["Dockerfile"]);
    let absolute = context.join("Dockerfile");
    write_context(&context, &ContextOptions::new(absolute), Vec::new()).unwrap();
}

#[test]
fn an_invalid_dockerignore_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &["Dockerfile"]);
    fs::write(dir.path().join(".dockerignore"), "ok\n[z-\n").unwrap();
    let error = write_context(dir.path(), &ContextOptions::default(), Vec::new()).unwrap_err();
    let ContextError::Ignore { path, source } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path, &dir.path().join(".dockerignore"));
    assert_eq!(source.line(), 2);
    assert!(
        error
            .to_string()
            .ends_with(".dockerignore: line 2: invalid pattern \"[z-\": syntax error in pattern")
    );
}

/// The entry at `path`, and its contents as text.
fn text_of(entries: &[TarEntry], path: &str) -> String {
    let entry = entries
        .iter()
        .find(|entry| entry.path == path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", paths(entries)));
    String::from_utf8(entry.content.clone()).unwrap()
}

#[test]
fn a_generated_dockerfile_travels_beside_the_untouched_one_and_the_dockerignore_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(
        root,
        &["docker/Dockerfile", "app.js", ".slipway.Dockerfile"],
    );
    fs::write(root.join(".dockerignore"), "*.log").unwrap();
    let options = ContextOptions::new("docker/Dockerfile")
        .with_generated_dockerfile("FROM scratch\nLABEL a=b\n");
    let entries = context_entries(root, &options);
    assert_eq!(
        paths(&entries),
        [
            ".dockerignore",
            "app.js",
            "docker/",
            "docker/Dockerfile",
            GENERATED_DOCKERFILE
        ],
        "the directory's own file of the generated name is left out, ours comes last"
    );
    assert_eq!(
        text_of(&entries, GENERATED_DOCKERFILE),
        "FROM scratch\nLABEL a=b\n"
    );
    assert_eq!(
        text_of(&entries, "docker/Dockerfile"),
        fs::read_to_string(root.join("docker/Dockerfile")).unwrap(),
        "the user's Dockerfile is sent as it is"
    );
    assert_eq!(
        text_of(&entries, ".dockerignore"),
        "*.log\n.slipway.Dockerfile\n"
    );
    let rules = DockerIgnore::parse(&text_of(&entries, ".dockerignore")).unwrap();
    assert!(rules.is_excluded(Path::new(GENERATED_DOCKERFILE)));
    assert!(!rules.is_excluded(Path::new("app.js")));
}

#[test]
fn without_a_dockerignore_one_is_made_that_keeps_itself_and_the_generated_dockerfile_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(root, &["Dockerfile", "app.js"]);
    let options = ContextOptions::new("Dockerfile").with_generated_dockerfile("FROM scratch\n");
    let entries = context_entries(root, &options);
    assert_eq!(
        paths(&entries),
        [
            "Dockerfile",
            "app.js",
            ".dockerignore",
            GENERATED_DOCKERFILE
        ]
    );
    let rules = DockerIgnore::parse(&text_of(&entries, ".dockerignore")).unwrap();
    assert!(rules.is_excluded(Path::new(GENERATED_DOCKERFILE)));
    assert!(rules.is_excluded(Path::new(".dockerignore")));
    assert!(!rules.is_excluded(Path::new("Dockerfile")));
    assert!(!rules.is_excluded(Path::new("app.js")));
}

#[test]
fn a_dockerignore_linking_to_nothing_is_replaced_by_a_made_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(root, &["Dockerfile"]);
    std::os::unix::fs::symlink("missing", root.join(".dockerignore")).unwrap();
    let options = ContextOptions::new("Dockerfile").with_generated_dockerfile("FROM scratch\n");
    let entries = context_entries(root, &options);
    assert_eq!(
        paths(&entries),
        ["Dockerfile", ".dockerignore", GENERATED_DOCKERFILE]
    );
    let rules = DockerIgnore::parse(&text_of(&entries, ".dockerignore")).unwrap();
    assert!(rules.is_excluded(Path::new(GENERATED_DOCKERFILE)));
}

#[test]
fn a_generated_dockerfile_makes_the_same_tar_for_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(root, &["Dockerfile", "src/a.txt"]);
    let options = ContextOptions::new("Dockerfile")
        .with_generated_dockerfile("FROM scratch\n")
        .with_mtime(0);
    let mut one = Vec::new();
    let mut two = Vec::new();
    write_context(root, &options, &mut one).unwrap();
    write_context(root, &options, &mut two).unwrap();
    assert_eq!(one, two);
}
