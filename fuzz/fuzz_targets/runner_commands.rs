//! Fuzzes what the runner reads from steps: workflow command lines (`::name k=v::data`) and the
//! `$GITHUB_OUTPUT`/`$GITHUB_ENV` file format, and the dotenv files of `--env-file`. No input
//! may panic; a parsed command's name is never empty; a value written in heredoc form reads back
//! (unless it holds a carriage return, which ends a line there as it does in GitHub's runner).

#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_runner::commands::{Directive, parse};
use slipway_runner::envfile::{parse_dotenv, parse_file_command};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Some(command) = parse(line) {
            assert!(!command.name.is_empty());
            let _ = Directive::of(command);
        }
    }
    let _ = parse_file_command(text);
    let _ = parse_dotenv(text);
    let delimiter = "ghadelimiter_fuzz";
    if !text.contains('\r') && !text.split('\n').any(|line| line == delimiter) {
        let values = parse_file_command(&format!("value<<{delimiter}\n{text}\n{delimiter}\n"))
            .expect("a heredoc value always parses");
        assert_eq!(values["value"], text);
    }
});
