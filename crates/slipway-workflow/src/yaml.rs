//! A YAML document as a tree of nodes that remember where they were written.
//!
//! Built from `saphyr-parser`'s event stream. Scalars keep their text and style (a quoted
//! `'true'` is a string, a plain `true` a boolean, following YAML 1.2's core schema, which is
//! what GitHub reads: `on:` is a key, not `true`). Aliases are expanded in place, with a budget
//! so that a "billion laughs" document is refused rather than exhausting memory. Each scalar
//! also keeps a [`PosMap`], so an offset inside its value (where a `${{ }}` expression starts)
//! maps back to the file's line and column.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostic::Pos;

/// A node and its position (the first character of its text; the opening quote or block
/// indicator for scalars written that way).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    /// Entries in document order; duplicate keys are refused while building.
    Mapping(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub(crate) value: String,
    pub(crate) plain: bool,
    pub(crate) map: PosMap,
}

/// Maps byte offsets in a scalar's value to positions in the file: one anchor per value line
/// where the correspondence is exact (plain and quoted single-line scalars, literal blocks), a
/// single anchor at the scalar's start otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosMap {
    anchors: Vec<(usize, Pos)>,
}

impl PosMap {
    /// Everything maps to offsets from `start`.
    pub(crate) fn at(start: Pos) -> PosMap {
        PosMap {
            anchors: vec![(0, start)],
        }
    }

    /// The file position of byte `offset` of `value`.
    pub fn position(&self, value: &str, offset: usize) -> Pos {
        let (anchor_offset, anchor) = self
            .anchors
            .iter()
            .rev()
            .find(|(at, _)| *at <= offset)
            .copied()
            .unwrap_or((0, Pos::new(1, 1)));
        let columns = value
            .get(anchor_offset..offset)
            .map_or(0, |between| between.chars().count());
        Pos::new(anchor.line, anchor.column + columns)
    }
}

/// A YAML syntax problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

/// How many nodes alias expansion may produce, far above any real workflow.
const ALIAS_BUDGET: usize = 100_000;

/// How deeply collections may nest; the tree is walked recursively afterwards.
const MAX_NESTING: usize = 200;

/// Parses the first document of `source`. An empty document is `None`.
pub(crate) fn parse(source: &str) -> Result<Option<Node>, YamlError> {
    let lines: Vec<&str> = source.split('\n').collect();
    let mut builder = Builder {
        lines,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        expanded: 0,
    };
    for event in Parser::new_from_str(source) {
        let (event, span) = event.map_err(|e| YamlError {
            pos: Pos::new(e.marker().line(), e.marker().col() + 1),
            message: e.info().to_owned(),
        })?;
        if builder.event(event, span)? {
            break;
        }
    }
    Ok(builder.root)
}

enum Open {
    Sequence {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

struct Builder<'a> {
    lines: Vec<&'a str>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    expanded: usize,
}

fn start_pos(span: &Span) -> Pos {
    Pos::new(span.start.line(), span.start.col() + 1)
}

impl Builder<'_> {
    /// Handles one event; `true` once the first document is complete.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
        match event {
            Event::Scalar(value, style, anchor, _tag) => {
                let map = self.pos_map(&value, style, &span);
                let node = Node {
                    pos: start_pos(&span),
                    kind: NodeKind::Scalar(Scalar {
                        value: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                        map,
                    }),
                };
                self.complete(node, anchor)?;
            }
            Event::SequenceStart(..) | Event::MappingStart(..)
                if self.stack.len() >= MAX_NESTING =>
            {
                return Err(YamlError {
                    pos: start_pos(&span),
                    message: format!("collections are nested more than {MAX_NESTING} levels deep"),
                });
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Sequence {
                pos: start_pos(&span),
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Open::Mapping {
                pos: start_pos(&span),
                anchor,
                entries: Vec::new(),
                pending_key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Sequence { pos, anchor, items }) => (
                        Node {
                            kind: NodeKind::Sequence(items),
                            pos,
                        },
                        anchor,
                    ),
                    Some(Open::Mapping {
                        pos,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            kind: NodeKind::Mapping(entries),
                            pos,
                        },
                        anchor,
                    ),
                    None => return Ok(false),
                };
                self.complete(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        pos: start_pos(&span),
                        message: "alias refers to an unknown anchor".to_owned(),
                    });
                };
                self.expanded += count_nodes(&node);
                if self.expanded > ALIAS_BUDGET {
                    return Err(YamlError {
                        pos: start_pos(&span),
                        message: format!("aliases expand to more than {ALIAS_BUDGET} nodes"),
                    });
                }
                self.complete(node, 0)?;
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::Nothing => {}
        }
        Ok(false)
    }

    /// Attaches a finished node to its parent (or makes it the root), registering its anchor.
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    if let Some(name) = key.as_str()
                        && let Some((first, _)) =
                            entries.iter().find(|(k, _)| k.as_str() == Some(name))
                    {
                        return Err(YamlError {
                            pos: key.pos,
                            message: format!(
                                "key '{name}' is duplicated (first defined at line {})",
                                first.pos.line
                            ),
                        });
                    }
                    entries.push((key, node));
                }
            },
        }
        Ok(())
    }

    /// Where each line of a scalar's value sits in the file. Exact for single-line plain and
    /// quoted scalars and for literal blocks; folded and multi-line flow scalars map to their
    /// start, since folding loses the line correspondence.
    fn pos_map(&self, value: &str, style: ScalarStyle, span: &Span) -> PosMap {
        let start = start_pos(span);
        match style {
            ScalarStyle::Plain => PosMap::at(start),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                PosMap::at(Pos::new(start.line, start.column + 1))
            }
            ScalarStyle::Folded => PosMap::at(start),
            ScalarStyle::Literal => self.literal_map(value, start),
        }
    }

    /// A literal block's span starts at its first non-empty line; its value line `k` is the
    /// file line `first + k`, where `first` accounts for leading empty lines. Each line is
    /// written after the block's indentation: the file line is the value line with that
    /// indentation in front.
    fn literal_map(&self, value: &str, content_start: Pos) -> PosMap {
        let leading_empty = value.chars().take_while(|c| *c == '\n').count();
        let first = content_start.line.saturating_sub(leading_empty).max(1);
        let mut anchors = Vec::new();
        let mut offset = 0;
        for (k, value_line) in value.split('\n').enumerate() {
            let line = first + k;
            if let Some(file_line) = self.lines.get(line - 1) {
                let file_line = file_line.trim_end_matches('\r');
                let indent = file_line
                    .chars()
                    .count()
                    .saturating_sub(value_line.chars().count());
                anchors.push((offset, Pos::new(line, indent + 1)));
            }
            offset += value_line.len() + 1;
        }
        if anchors.is_empty() {
            return PosMap::at(content_start);
        }
        PosMap { anchors }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Scalar(_) => 0,
        NodeKind::Sequence(items) => items.iter().map(count_nodes).sum(),
        NodeKind::Mapping(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

impl Node {
    /// The text of a scalar node.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(scalar) => Some(&scalar.value),
            _ => None,
        }
    }

    /// Whether this is a plain scalar the core schema reads as null (`~`, `null`, empty).
    pub(crate) fn is_null(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar(s) => {
                s.plain && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// What a person would call this node's type, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Sequence(_) => "a sequence",
            NodeKind::Mapping(_) => "a mapping",
            NodeKind::Scalar(s) => match typed_scalar(s) {
                Typed::Null => "null",
                Typed::Bool(_) => "a boolean",
                Typed::Number(_) => "a number",
                Typed::String => "a string",
            },
        }
    }
}

/// A scalar read through YAML 1.2's core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Typed {
    Null,
    Bool(bool),
    Number(f64),
    String,
}

pub(crate) fn typed_scalar(scalar: &Scalar) -> Typed {
    if !scalar.plain {
        return Typed::String;
    }
    let v = scalar.value.as_str();
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
        "true" | "True" | "TRUE" => return Typed::Bool(true),
        "false" | "False" | "FALSE" => return Typed::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Typed::Number(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Typed::Number(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Typed::Number(f64::NAN),
        _ => {}
    }
    if let Some(octal) = v.strip_prefix("0o") {
        return radix(octal, 8);
    }
    if let Some(hex) = v.strip_prefix("0x") {
        return radix(hex, 16);
    }
    if is_core_number(v) {
        return v.parse().map_or(Typed::String, Typed::Number);
    }
    Typed::String
}

fn radix(digits: &str, radix: u32) -> Typed {
    i64::from_str_radix(digits, radix)
        .ok()
        .filter(|_| !digits.starts_with(['+', '-']))
        // Workflow numbers are small; a double holds them exactly.
        .map_or(Typed::String, |n| {
            #[allow(clippy::cast_precision_loss)]
            Typed::Number(n as f64)
        })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's number forms.
fn is_core_number(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - digits_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac;
    }
    if digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse(text).unwrap().unwrap()
    }

    fn get<'a>(node: &'a Node, key: &str) -> &'a Node {
        let NodeKind::Mapping(entries) = &node.kind else {
            panic!("not a mapping")
        };
        &entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .unwrap()
            .1
    }

    #[test]
    fn nodes_remember_line_and_column() {
        let doc = root("name: ci\non:\n  push:\n    branches: [main]\n");
        assert_eq!(get(&doc, "name").pos, Pos::new(1, 7));
        let branches = get(get(get(&doc, "on"), "push"), "branches");
        assert_eq!(branches.pos, Pos::new(4, 15));
        let NodeKind::Sequence(items) = &branches.kind else {
            panic!()
        };
        assert_eq!(items[0].pos, Pos::new(4, 16));
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let doc = root("a: true\nb: 'true'\nc: 10\nd: 0x1f\ne: ~\nf: on\ng: 1.5e3\nh: 08x\n");
        let typed = |key| match &get(&doc, key).kind {
            NodeKind::Scalar(s) => typed_scalar(s),
            _ => panic!(),
        };
        assert_eq!(typed("a"), Typed::Bool(true));
        assert_eq!(typed("b"), Typed::String);
        assert_eq!(typed("c"), Typed::Number(10.0));
        assert_eq!(typed("d"), Typed::Number(31.0));
        assert_eq!(typed("e"), Typed::Null);
        assert_eq!(typed("f"), Typed::String);
        assert_eq!(typed("g"), Typed::Number(1500.0));
        assert_eq!(typed("h"), Typed::String);
    }

    #[test]
    fn literal_blocks_map_offsets_to_their_lines() {
        let text = "run: |\n  echo one\n    echo ${{ x }}\n";
        let doc = root(text);
        let NodeKind::Scalar(run) = &get(&doc, "run").kind else {
            panic!()
        };
        let offset = run.value.find("${{").unwrap();
        assert_eq!(run.map.position(&run.value, offset), Pos::new(3, 10));
        assert_eq!(run.map.position(&run.value, 0), Pos::new(2, 3));

        let text = "run: |-\n\n  a\n  b ${{ y }}\nx: 1\n";
        let doc = root(text);
        let NodeKind::Scalar(run) = &get(&doc, "run").kind else {
            panic!()
        };
        let offset = run.value.find("${{").unwrap();
        assert_eq!(run.map.position(&run.value, offset), Pos::new(4, 5));
    }

    #[test]
    fn quoted_scalars_map_past_the_quote() {
        let doc = root("k: 'a ${{ b }}'\n");
        let NodeKind::Scalar(s) = &get(&doc, "k").kind else {
            panic!()
        };
        assert_eq!(s.map.position(&s.value, 2), Pos::new(1, 7));
    }

    #[test]
    fn duplicate_keys_and_bad_syntax_are_errors_with_positions() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(3, 1));
        assert!(err.message.contains("'a' is duplicated"), "{}", err.message);
        let err = parse("a: [1, 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn aliases_expand_and_are_bounded() {
        let doc = root("base: &b {x: 1}\nuse: *b\n");
        assert_eq!(get(get(&doc, "use"), "x").as_str(), Some("1"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            bomb.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{}", err.message);
    }
}
