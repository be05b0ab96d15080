//! Every built-in rule finds its true positive, alone and at the right place, with the secret
//! redacted; and flags none of its false positives.

use std::collections::BTreeSet;

use slipway_secrets::{FileOutcome, Finding, SecretScanner};

use crate::samples::{false_positives, true_positives};

pub(crate) fn findings(scanner: &SecretScanner, path: &str, text: &str) -> Vec<Finding> {
    match scanner.scan_bytes(path, text.as_bytes()) {
        FileOutcome::Scanned { findings, .. } => findings,
        other => panic!("{path} was not scanned: {other:?}"),
    }
}

#[test]
fn every_rule_has_a_true_positive_and_a_false_positive_sample() {
    let scanner = SecretScanner::builtin();
    let rules: BTreeSet<&str> = scanner.rules().iter().map(|rule| rule.id()).collect();
    let positives: BTreeSet<&str> = true_positives().iter().map(|sample| sample.rule).collect();
    let negatives: BTreeSet<&str> = false_positives().iter().map(|(rule, _)| *rule).collect();
    assert_eq!(positives, rules);
    assert_eq!(negatives, rules);
}

#[test]
fn each_true_positive_is_found_by_its_rule_alone() {
    let scanner = SecretScanner::builtin();
    for sample in true_positives() {
        let found = findings(&scanner, "config/app.env", &sample.text);
        let rules: Vec<&str> = found
            .iter()
            .map(|finding| finding.rule_id.as_str())
            .collect();
        assert_eq!(rules, [sample.rule], "{}", sample.text);
        let finding = &found[0];
        assert!(finding.line >= 1 && finding.line <= 2, "{finding:?}");
        assert!(
            finding.redacted.ends_with("********") || finding.redacted.ends_with(" ****"),
            "{finding:?}"
        );
        assert_eq!(finding.fingerprint.len(), 16);
    }
}

#[test]
fn the_redacted_form_never_holds_the_secret() {
    let scanner = SecretScanner::builtin();
    for sample in true_positives() {
        for finding in findings(&scanner, "a.txt", &sample.text) {
            let visible = finding
                .redacted
                .trim_end_matches('*')
                .trim_end_matches(" ****");
            assert!(
                visible.len() <= 4 || visible.starts_with("-----BEGIN"),
                "{} shows {visible:?}",
                sample.rule
            );
        }
    }
}

#[test]
fn no_false_positive_is_flagged() {
    let scanner = SecretScanner::builtin();
    for (rule, text) in false_positives() {
        let found = findings(&scanner, "src/main.rs", &format!("{text}\n"));
        assert!(found.is_empty(), "{rule}: {text:?} gave {found:?}");
    }
}

#[test]
fn positions_count_lines_and_characters() {
    let scanner = SecretScanner::builtin();
    let token = [
        "gh",
        "p_",
        &crate::samples::random(crate::samples::ALNUM, 36, 99),
    ]
    .concat();
    let text = format!("first\n\nlet é = \"{token}\";\n");
    let found = findings(&scanner, "x.rs", &text);
    assert_eq!(
        (found[0].line, found[0].column, found[0].end_line),
        (3, 10, 3)
    );
    let key = crate::samples::private_key("OPENSSH ", 5);
    let found = findings(&scanner, "id", &format!("# key\n{key}\n"));
    assert_eq!((found[0].line, found[0].end_line), (2, 15));
    assert_eq!(
        found[0].redacted,
        "-----BEGIN OPENSSH PRIVATE KEY----- ****"
    );
}

#[test]
fn lockfiles_and_placeholders_are_allowed_by_default() {
    let scanner = SecretScanner::builtin();
    let token = [
        "gh",
        "p_",
        &crate::samples::random(crate::samples::ALNUM, 36, 98),
    ]
    .concat();
    assert_eq!(
        scanner.scan_bytes("web/package-lock.json", token.as_bytes()),
        FileOutcome::Allowed
    );
    assert_eq!(
        scanner.scan_bytes("logo.png", token.as_bytes()),
        FileOutcome::Allowed
    );
    assert!(
        findings(
            &scanner,
            "README.md",
            "use YOUR_TOKEN like ghp_ExampleExampleExampleExampleExam\n"
        )
        .is_empty()
    );
}

#[test]
fn every_pem_kind_of_private_key_is_found() {
    let scanner = SecretScanner::builtin();
    for (seed, kind) in ["RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", ""]
        .into_iter()
        .enumerate()
    {
        let key = crate::samples::private_key(kind, 200 + seed as u64);
        let found = findings(&scanner, "id_key", &format!("{key}\n"));
        assert_eq!(rule_ids(&found), ["private-key"], "{kind:?}");
    }
    let pgp = format!(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n-----END PGP PRIVATE KEY BLOCK-----\n",
        crate::samples::random(crate::samples::BASE64, 64 * 4, 210)
    );
    assert_eq!(
        rule_ids(&findings(&scanner, "key.asc", &pgp)),
        ["private-key"]
    );
    let ssh2 = format!(
        "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n{}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n",
        crate::samples::random(crate::samples::BASE64, 70, 211)
    );
    assert_eq!(rule_ids(&findings(&scanner, "key", &ssh2)), ["private-key"]);
}

fn rule_ids(found: &[Finding]) -> Vec<&str> {
    found
        .iter()
        .map(|finding| finding.rule_id.as_str())
        .collect()
}

#[test]
fn a_github_token_followed_by_more_characters_is_found_whole() {
    let scanner = SecretScanner::builtin();
    let token = [
        "gh",
        "s_",
        &crate::samples::random(crate::samples::ALNUM, 36, 300),
    ]
    .concat();
    for (text, secret_length) in [
        (format!("{token}_backup\n"), 40),
        (format!("{token}Xy12\n"), 44),
        (format!("GH_TOKEN_{token}\n"), 40),
    ] {
        let found = findings(&scanner, "notes.txt", &text);
        assert_eq!(rule_ids(&found), ["github-app-token"], "{text}");
        // The fingerprint names the secret: the whole token and only the token.
        let alone = findings(
            &scanner,
            "a",
            &format!("{}\n", &text[text.find("gh").unwrap()..][..secret_length]),
        );
        assert_eq!(found[0].fingerprint, alone[0].fingerprint, "{text}");
    }
}

#[test]
fn an_openai_looking_decoy_of_the_wrong_shape_is_not_flagged_by_any_rule() {
    let scanner = SecretScanner::builtin();
    let random = crate::samples::random;
    let decoys = [
        // No `T3BlbkFJ`: not an OpenAI key, whatever its length.
        format!(
            "OPENAI_API_KEY=sk-{}\n",
            random(crate::samples::ALNUM, 48, 310)
        ),
        format!(
            "openai.api_key = \"sk-{}\"\n",
            random(crate::samples::URLSAFE, 40, 311)
        ),
        // The marker, but a legacy key's sides are 20 alphanumerics each.
        format!(
            "OPENAI_API_KEY=sk-{}{}{}\n",
            random(crate::samples::URLSAFE, 20, 312)
                .replace(|c: char| c.is_ascii_alphanumeric(), "_"),
            ["T3Blbk", "FJ"].concat(),
            random(crate::samples::ALNUM, 20, 313)
        ),
    ];
    for decoy in decoys {
        let found = findings(&scanner, ".env", &decoy);
        assert!(found.is_empty(), "{decoy:?} gave {found:?}");
    }
}

#[test]
fn azure_ai_services_keys_are_found_under_the_names_their_sdks_use() {
    let scanner = SecretScanner::builtin();
    let key = crate::samples::random(crate::samples::HEX, 32, 320);
    for line in [
        format!("SPEECH_KEY={key}"),
        format!("AZURE_OPENAI_API_KEY=\"{key}\""),
        format!("client = TextAnalyticsClient(endpoint, AzureKeyCredential(\"{key}\"))"),
        format!("subscription_key = '{key}'"),
    ] {
        let found = findings(&scanner, "app.py", &format!("{line}\n"));
        assert_eq!(rule_ids(&found), ["azure-ai-services-key"], "{line}");
    }
}
