//! Private state: `.slipway/` is created 0700 with a 0600 `state.db`; one left world-readable
//! by an older Slipway is tightened with a warning, not refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::Project;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_state_directory_and_database_are_created_private() {
    let project = Project::empty();
    project.slipway(&["runs"]).success();
    let state = project.path().join(".slipway");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("state.db")), 0o600);
}

#[test]
fn a_world_readable_state_directory_is_tightened_with_a_warning() {
    let project = Project::empty();
    let state = project.path().join(".slipway");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = project.slipway(&["runs"]).success();
    assert_eq!(mode(&state), 0o700);
    assert!(
        run.stderr.contains("was readable by other users (755)"),
        "{}",
        run.stderr
    );
}
