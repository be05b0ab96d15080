//! The job graph from `needs:`: unknown jobs, cycles (with their path) and topological levels.
//!
//! Level 0 holds the jobs that need nothing; level `n` the jobs whose needs all sit in earlier
//! levels. The runner can start a level once the previous one finished; jobs keep their file
//! order within a level.

use indexmap::IndexMap;
use thiserror::Error;

use crate::diagnostic::Pos;
use crate::model::Workflow;

/// A problem with `needs:`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    /// A job needs a job that does not exist.
    #[error("job '{job}' needs '{needed}', which is not a job in this workflow")]
    UnknownJob {
        /// The job with the bad `needs:`.
        job: String,
        /// The missing job.
        needed: String,
        /// Where the name is written (1:1 when built from plain edges).
        pos: Pos,
    },
    /// Jobs need each other in a circle.
    #[error("jobs need each other in a cycle: {}", path.join(" -> "))]
    Cycle {
        /// The cycle, starting and ending with the same job.
        path: Vec<String>,
    },
}

/// Jobs and what each needs, checked to form a directed acyclic graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobGraph {
    needs: IndexMap<String, Vec<String>>,
    levels: Vec<Vec<String>>,
}

impl JobGraph {
    /// The graph of a workflow's jobs.
    pub fn new(workflow: &Workflow) -> Result<JobGraph, Vec<GraphError>> {
        let edges = workflow.jobs.values().map(|job| {
            let needs = job.needs.iter().map(|n| (n.value.clone(), n.pos)).collect();
            (job.id.value.clone(), needs)
        });
        JobGraph::build(edges.collect())
    }

    /// The graph of `(job, needs)` pairs, in order.
    pub fn from_edges<I, J, N>(edges: I) -> Result<JobGraph, Vec<GraphError>>
    where
        I: IntoIterator<Item = (J, Vec<N>)>,
        J: Into<String>,
        N: Into<String>,
    {
        let edges = edges
            .into_iter()
            .map(|(job, needs)| {
                let needs = needs
                    .into_iter()
                    .map(|n| (n.into(), Pos::new(1, 1)))
                    .collect();
                (job.into(), needs)
            })
            .collect();
        JobGraph::build(edges)
    }

    fn build(edges: Vec<(String, Vec<(String, Pos)>)>) -> Result<JobGraph, Vec<GraphError>> {
        let mut errors = Vec::new();
        let known: IndexMap<&str, ()> = edges.iter().map(|(job, _)| (job.as_str(), ())).collect();
        let mut needs = IndexMap::new();
        for (job, job_needs) in &edges {
            let mut resolved: Vec<String> = Vec::new();
            for (needed, pos) in job_needs {
                if !known.contains_key(needed.as_str()) {
                    errors.push(GraphError::UnknownJob {
                        job: job.clone(),
                        needed: needed.clone(),
                        pos: *pos,
                    });
                } else if !resolved.contains(needed) {
                    resolved.push(needed.clone());
                }
            }
            needs.insert(job.clone(), resolved);
        }
        errors.extend(find_cycles(&needs));
        if !errors.is_empty() {
            return Err(errors);
        }
        let levels = levels(&needs);
        Ok(JobGraph { needs, levels })
    }

    /// The jobs in levels: each level's jobs need only jobs of earlier levels.
    pub fn levels(&self) -> &[Vec<String>] {
        &self.levels
    }

    /// The jobs `job` needs directly.
    pub fn needs(&self, job: &str) -> &[String] {
        self.needs.get(job).map_or(&[], Vec::as_slice)
    }

    /// Every job `job` depends on, directly or not, in level order.
    pub fn ancestors(&self, job: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut pending: Vec<&str> = self.needs(job).iter().map(String::as_str).collect();
        while let Some(next) = pending.pop() {
            if !found.iter().any(|f| f == next) {
                found.push(next.to_owned());
                pending.extend(self.needs(next).iter().map(String::as_str));
            }
        }
        self.levels
            .iter()
            .flatten()
            .filter(|j| found.contains(j))
            .cloned()
            .collect()
    }
}

/// Every cycle reachable by depth-first search, each reported once by its path.
fn find_cycles(needs: &IndexMap<String, Vec<String>>) -> Vec<GraphError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let mut state: IndexMap<&str, State> = needs.keys().map(|k| (k.as_str(), State::New)).collect();
    let mut cycles = Vec::new();
    for start in needs.keys() {
        if state.get(start.as_str()) != Some(&State::New) {
            continue;
        }
        // Iterative DFS: (job, index of the next need to visit).
        let mut path: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        state.insert(start.as_str(), State::OnPath);
        while let Some((job, next)) = path.last_mut() {
            let job_needs = needs.get(*job).map_or(&[][..], Vec::as_slice);
            let Some(needed) = job_needs.get(*next) else {
                state.insert(job, State::Done);
                path.pop();
                continue;
            };
            *next += 1;
            match state.get(needed.as_str()) {
                Some(State::New) => {
                    state.insert(needed.as_str(), State::OnPath);
                    path.push((needed.as_str(), 0));
                }
                Some(State::OnPath) => {
                    let from = path.iter().position(|(j, _)| *j == needed).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|(j, _)| (*j).to_owned()).collect();
                    cycle.push(needed.clone());
                    cycles.push(GraphError::Cycle { path: cycle });
                }
                _ => {}
            }
        }
    }
    cycles
}

/// Kahn's algorithm by rounds; only called on acyclic graphs.
fn levels(needs: &IndexMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let mut placed: IndexMap<&str, ()> = IndexMap::new();
    let mut levels = Vec::new();
    while placed.len() < needs.len() {
        let level: Vec<String> = needs
            .iter()
            .filter(|(job, job_needs)| {
                !placed.contains_key(job.as_str())
                    && job_needs.iter().all(|n| placed.contains_key(n.as_str()))
            })
            .map(|(job, _)| job.clone())
            .collect();
        if level.is_empty() {
            break;
        }
        for job in &level {
            if let Some((key, _)) = needs.get_key_value(job) {
                placed.insert(key.as_str(), ());
            }
        }
        levels.push(level);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_needs_in_file_order() {
        let graph = JobGraph::from_edges(vec![
            ("deploy", vec!["test", "build"]),
            ("build", vec![]),
            ("lint", vec![]),
            ("test", vec!["build"]),
        ])
        .unwrap();
        assert_eq!(
            graph.levels(),
            &[
                vec!["build".to_owned(), "lint".to_owned()],
                vec!["test".to_owned()],
                vec!["deploy".to_owned()]
            ]
        );
        assert_eq!(
            graph.ancestors("deploy"),
            vec!["build".to_owned(), "test".to_owned()]
        );
    }

    #[test]
    fn unknown_needs_are_reported() {
        let errors = JobGraph::from_edges(vec![("a", vec!["ghost"])]).unwrap_err();
        assert_eq!(
            errors,
            vec![GraphError::UnknownJob {
                job: "a".into(),
                needed: "ghost".into(),
                pos: Pos::new(1, 1)
            }]
        );
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let errors = JobGraph::from_edges(vec![
            ("a", vec!["c"]),
            ("b", vec!["a"]),
            ("c", vec!["b"]),
            ("d", vec!["d"]),
        ])
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                GraphError::Cycle {
                    path: vec!["a".into(), "c".into(), "b".into(), "a".into()]
                },
                GraphError::Cycle {
                    path: vec!["d".into(), "d".into()]
                },
            ]
        );
        assert_eq!(
            errors[0].to_string(),
            "jobs need each other in a cycle: a -> c -> b -> a"
        );
    }
}
