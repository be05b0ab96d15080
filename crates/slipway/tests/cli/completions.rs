//! `slipway completions` and `slipway man`: made from the clap definitions, so they know every
//! command; the bash script is loaded into a real bash and asked to complete.

use std::process::Command;

use crate::support::Project;

/// Commands the generated files must know, old and new: a missing one means the files were not
/// made from the definitions that parse the command line.
const COMMANDS: [&str; 6] = ["build", "builds", "deploy", "daemon", "completions", "man"];

#[test]
fn the_bash_script_parses_and_completes_commands_and_their_flags() {
    let project = Project::empty();
    let script = project.slipway(&["completions", "bash"]).success().stdout;
    project.write("slipway.bash", &script);
    let path = project.path().join("slipway.bash");

    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let complete = |words: &str| -> Vec<String> {
        // What bash itself does on TAB: set COMP_WORDS and COMP_CWORD, call the function the
        // script registered for `slipway`, read COMPREPLY.
        let program = format!(
            "source {}; words=({words}); COMP_WORDS=(\"${{words[@]}}\"); \
             COMP_CWORD=$(( ${{#words[@]}} - 1 )); COMP_LINE=\"${{words[*]}}\"; \
             COMP_POINT=${{#COMP_LINE}}; \
             $(complete -p slipway | sed -E 's/.*-F ([^ ]+).*/\\1/') slipway \"${{words[-1]}}\" \"${{words[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let output = Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };

    let commands = complete("slipway ''");
    for command in COMMANDS {
        assert!(
            commands.iter().any(|word| word == command),
            "{command} is not offered: {commands:?}"
        );
    }
    assert_eq!(complete("slipway buil"), ["build", "builds"]);
    let flags = complete("slipway deploy --");
    assert!(
        flags.iter().any(|flag| flag == "--image"),
        "deploy's flags: {flags:?}"
    );
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    let project = Project::empty();
    let zsh = project.slipway(&["completions", "zsh"]).success().stdout;
    assert!(zsh.starts_with("#compdef slipway"), "{zsh}");
    let fish = project.slipway(&["completions", "fish"]).success().stdout;
    for command in COMMANDS {
        assert!(zsh.contains(&format!("'{command}:")), "zsh lacks {command}");
        assert!(
            fish.contains(&format!("-a \"{command}\"")),
            "fish lacks {command}"
        );
    }
    let refused = project.slipway(&["completions", "tcsh"]).failure(2);
    assert!(refused.stderr.contains("bash"), "{}", refused.stderr);
}

#[test]
fn the_man_page_has_a_name_a_synopsis_and_every_command() {
    let project = Project::empty();
    let page = project.slipway(&["man"]).success().stdout;
    assert!(page.starts_with(".ie \\n(.g"), "a roff page: {page}");
    assert!(page.contains(".SH NAME\nslipway"), "{page}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    for command in COMMANDS {
        assert!(
            page.contains(&format!("slipway\\-{command}(1)")),
            "the page does not point to slipway-{command}(1)"
        );
    }

    let written = project.slipway(&["man", "--dir", "pages"]).success().stderr;
    assert!(written.contains("pages"), "{written}");
    let deploy = project.read("pages/slipway-deploy.1");
    assert!(deploy.contains(".SH NAME\nslipway\\-deploy"), "{deploy}");
    assert!(deploy.contains("\\-\\-image"), "{deploy}");
    let stop = project.read("pages/slipway-daemon-stop.1");
    assert!(stop.contains(".SH SYNOPSIS"), "{stop}");
}
