//! User policies in Rego, evaluated with `regorus` over the report's JSON.
//!
//! A policy is a Rego module with `deny` rules, as conftest writes them; each message a `deny`
//! rule produces fails the gate, and `warn` messages are shown without failing it. The report
//! (as `--format json` prints it) is the `input`:
//!
//! ```rego
//! package slipway.images
//!
//! deny contains msg if {
//!     some v in input.vulnerabilities
//!     v.severity == "critical"
//!     count(v.fixed_versions) > 0
//!     msg := sprintf("%s in %s has a fix: upgrade to %s", [v.id, v.package.name, v.fixed_versions[0]])
//! }
//! ```
//!
//! Both Rego v1 (`deny contains msg if`) and the older v0 syntax (`deny[msg] { ... }`) load. A
//! rule may produce strings, or objects with a `msg` field.

use std::path::{Path, PathBuf};

use regorus::Engine;

/// A Rego policy, parsed.
#[derive(Debug, Clone)]
pub struct Policy {
    path: PathBuf,
    engine: Engine,
    /// The package's path, as Rego refers to it (`data.slipway.images`).
    package: String,
}

/// A policy that cannot be loaded or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct PolicyError {
    path: PathBuf,
    /// What regorus reported, with the line and column.
    message: String,
}

impl PolicyError {
    /// The policy file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a policy said about a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// Messages of `deny` rules.
    pub denials: Vec<String>,
    /// Messages of `warn` rules.
    pub warnings: Vec<String>,
}

impl Policy {
    /// Reads and parses the policy at `path`.
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] with regorus' message (which names the line and column) when the file
    /// cannot be read or parsed as Rego v1 or v0.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|error| PolicyError {
            path: path.to_owned(),
            message: format!("cannot read the policy: {error}"),
        })?;
        Policy::parse(path, &text)
    }

    /// Parses a policy's text; `path` names it in messages.
    ///
    /// # Errors
    ///
    /// As [`Policy::load`].
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let name = path.display().to_string();
        let mut engine = Engine::new();
        let package = match engine.add_policy(name.clone(), text.to_owned()) {
            Ok(package) => package,
            Err(v1_error) => {
                // Rego v0, as older policies are written; if that fails too, the v1 error is
                // the one to show.
                let mut v0 = Engine::new();
                v0.set_rego_v0(true);
                match v0.add_policy(name, text.to_owned()) {
                    Ok(package) => {
                        engine = v0;
                        package
                    }
                    Err(_) => {
                        return Err(PolicyError {
                            path: path.to_owned(),
                            message: v1_error.to_string(),
                        });
                    }
                }
            }
        };
        Ok(Policy {
            path: path.to_owned(),
            engine,
            package,
        })
    }

    /// The policy file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Evaluates the policy's `deny` and `warn` rules with `input` (the report's JSON).
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] when evaluation fails (a built-in called with the wrong types, a
    /// conflict between rule values).
    pub fn evaluate(&self, input: &serde_json::Value) -> Result<PolicyOutcome, PolicyError> {
        let error = |message: String| PolicyError {
            path: self.path.clone(),
            message,
        };
        let mut engine = self.engine.clone();
        let input = regorus::Value::from_json_str(&input.to_string())
            .map_err(|e| error(format!("cannot pass the report to the policy: {e}")))?;
        engine.set_input(input);
        Ok(PolicyOutcome {
            denials: self.messages(&mut engine, "deny").map_err(error)?,
            warnings: self.messages(&mut engine, "warn").map_err(error)?,
        })
    }

    /// The messages rule `rule` of the policy's package produces; none when it is undefined.
    fn messages(&self, engine: &mut Engine, rule: &str) -> Result<Vec<String>, String> {
        let query = format!("{}.{rule}", self.package);
        let results = engine
            .eval_query(query, false)
            .map_err(|error| format!("evaluating {rule}: {error}"))?;
        let mut messages = Vec::new();
        for result in results.result {
            for expression in result.expressions {
                let json = expression
                    .value
                    .to_json_str()
                    .map_err(|error| error.to_string())?;
                let value: serde_json::Value =
                    serde_json::from_str(&json).map_err(|error| error.to_string())?;
                collect_messages(&value, &mut messages);
            }
        }
        messages.sort();
        messages.dedup();
        Ok(messages)
    }
}

/// Messages from a rule's value: strings, `{"msg": ...}` objects, or collections of them.
fn collect_messages(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::String(message) => into.push(message.clone()),
        serde_json::Value::Array(items) => {
            items.iter().for_each(|item| collect_messages(item, into))
        }
        serde_json::Value::Object(object) => match object.get("msg") {
            Some(serde_json::Value::String(message)) => into.push(message.clone()),
            _ => into.push(value.to_string()),
        },
        serde_json::Value::Bool(true) => into.push("denied".to_owned()),
        _ => {}
    }
}
