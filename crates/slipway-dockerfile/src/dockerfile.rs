//! The parsed Dockerfile and its build stages.

use std::ops::Range;

use serde::Serialize;

use crate::directives::Directives;
use crate::error::ParseError;
use crate::image::ImageRef;
use crate::instruction::{Instruction, InstructionKind};
use crate::lines::Position;

/// A parsed Dockerfile: its directives, every instruction in order, and the stages they form.
///
/// There is always at least one stage, and only `ARG` instructions come before the first `FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    directives: Directives,
    instructions: Vec<Instruction>,
    stages: Vec<Stage>,
}

/// A build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    index: usize,
    name: Option<String>,
    base: ImageRef,
    platform: Option<String>,
    instructions: Range<usize>,
}

impl Dockerfile {
    /// Groups `instructions` into stages, checking what BuildKit checks before building.
    pub(crate) fn new(
        directives: Directives,
        instructions: Vec<Instruction>,
    ) -> Result<Dockerfile, ParseError> {
        let Some(first) = instructions.first() else {
            return Err(ParseError::new(
                Position { line: 1, column: 1 },
                "the Dockerfile has no instructions: it needs at least a FROM",
            ));
        };
        let mut stages: Vec<Stage> = Vec::new();
        for (index, instruction) in instructions.iter().enumerate() {
            let from = match &instruction.kind {
                InstructionKind::From(from) => from,
                InstructionKind::Arg(_) => continue,
                other if stages.is_empty() => {
                    return Err(error_at(
                        instruction,
                        format!(
                            "{} comes before the first FROM: only ARG may",
                            other.keyword()
                        ),
                    ));
                }
                _ => continue,
            };
            if let Some(name) = &from.stage_name
                && let Some(earlier) = stages
                    .iter()
                    .find(|stage| stage.name.as_ref() == Some(name))
            {
                let line = instructions[earlier.instructions.start].span.line;
                return Err(error_at(
                    instruction,
                    format!("duplicate stage name {name:?}: line {line} already uses it"),
                ));
            }
            if let Some(previous) = stages.last_mut() {
                previous.instructions.end = index;
            }
            stages.push(Stage {
                index: stages.len(),
                name: from.stage_name.clone(),
                base: from.image.clone(),
                platform: from.platform.clone(),
                instructions: index..instructions.len(),
            });
        }
        if stages.is_empty() {
            return Err(error_at(
                first,
                "the Dockerfile has no FROM instruction: it needs at least one stage",
            ));
        }
        Ok(Dockerfile {
            directives,
            instructions,
            stages,
        })
    }

    pub fn directives(&self) -> &Directives {
        &self.directives
    }

    /// Every instruction, in source order.
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// The stages, in source order; never empty.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage built when no `--target` is given: the last one.
    pub fn final_stage(&self) -> &Stage {
        let last = self.stages.len() - 1;
        &self.stages[last]
    }

    /// The stage named `name_or_index` (case-insensitively, as BuildKit compares stage names) or,
    /// when it is a number, the stage at that index.
    pub fn stage(&self, name_or_index: &str) -> Option<&Stage> {
        let name = name_or_index.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|stage| stage.name.as_deref() == Some(name.as_str()))
            .or_else(|| {
                name_or_index
                    .parse()
                    .ok()
                    .and_then(|index: usize| self.stages.get(index))
            })
    }

    /// The `ARG`s before the first `FROM`, which `FROM` lines may use.
    pub fn global_args(&self) -> &[Instruction] {
        &self.instructions[..self.stages[0].instructions.start]
    }

    /// A stage's instructions, its `FROM` first.
    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        &self.instructions[stage.instructions.clone()]
    }

    /// The earlier stage `stage` builds on (`FROM build AS test`), if its base names one.
    pub fn parent_stage(&self, stage: &Stage) -> Option<&Stage> {
        let base = stage.base.raw().to_ascii_lowercase();
        self.stages[..stage.index]
            .iter()
            .rev()
            .find(|earlier| earlier.name.as_deref() == Some(&*base))
    }
}

impl Stage {
    /// The stage's position, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The name after `AS`, lowercased.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The image (or earlier stage) after `FROM`.
    pub fn base(&self) -> &ImageRef {
        &self.base
    }

    /// `--platform` of the `FROM`, as written.
    pub fn platform(&self) -> Option<&str> {
        self.platform.as_deref()
    }

    /// The range of [`Dockerfile::instructions`] this stage holds, its `FROM` first.
    pub fn instruction_range(&self) -> Range<usize> {
        self.instructions.clone()
    }
}

fn error_at(instruction: &Instruction, message: impl Into<String>) -> ParseError {
    let position = Position {
        line: instruction.span.line,
        column: instruction.span.column,
    };
    ParseError::new(position, message)
}
