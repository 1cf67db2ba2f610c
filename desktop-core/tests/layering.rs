//! The replica's modules (`src/store/`) import each other without cycles,
//! so each can be read, changed and tested from the ones below it: the
//! entity modules over the outbox and rows, the outbox over the policy
//! gate and rows, settling
//! a push over the outbox and the inbox. A module that needs one above it
//! is a design smell this test names.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each sibling module a file of `store/` refers to through `super::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "mod")
        .collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let mut uses = BTreeSet::new();
        // `super::outbox::x`, `super::{rows, Store}` and the like: any word
        // after `super::` or inside the braces that follow it.
        let mut rest = text.as_str();
        while let Some(at) = rest.find("super::") {
            rest = &rest[at + "super::".len()..];
            let words: String = if rest.starts_with('{') {
                rest[1..rest.find('}').unwrap_or(rest.len())].to_string()
            } else {
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            };
            for word in words.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if modules.contains(word) && word != name {
                    uses.insert(word.to_string());
                }
            }
        }
        graph.insert(name, uses);
    }
    graph
}

#[test]
fn the_store_modules_import_each_other_without_cycles() {
    let graph = imports();
    assert!(graph.len() >= 10, "{graph:?}");
    // Depth-first, keeping the path, so a cycle is reported as it runs.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            panic!(
                "store modules import in a cycle: {} -> {node}",
                path[at..].join(" -> ")
            );
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
    // The outbox sits below the entity modules and the inbox, and every
    // change it records passes the policy gate, which sits below it.
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        graph["outbox"],
        set(&["policy", "rows"]),
        "the outbox imports only the gate and rows"
    );
    assert_eq!(
        graph["policy"],
        set(&["access", "rows"]),
        "the gate reads the replica, never the outbox or the inbox"
    );
}

/// Each top-level module of the crate and the others it names through
/// `crate::`.
fn crate_imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = [
        "api",
        "error",
        "fixtures",
        "reminders",
        "session",
        "store",
        "sync",
    ];
    let mut graph = BTreeMap::new();
    for module in modules {
        let mut texts = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.exists() {
            texts.push(std::fs::read_to_string(&file).unwrap());
        }
        let dir = src.join(module);
        if dir.is_dir() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
            }
        }
        let mut uses = BTreeSet::new();
        for text in &texts {
            for other in modules {
                if other != module && text.contains(&format!("crate::{other}")) {
                    uses.insert(other.to_string());
                }
            }
        }
        graph.insert(module.to_string(), uses);
    }
    graph
}

#[test]
fn the_crates_modules_import_each_other_in_one_direction() {
    let graph = crate_imports();
    for (module, uses) in &graph {
        for other in uses {
            assert!(
                !graph[other].contains(module),
                "{module} and {other} import each other"
            );
        }
    }
    // The engine drives the session, which speaks the API: never back.
    assert!(graph["sync"].contains("session"), "{graph:?}");
    assert!(graph["session"].contains("api"), "{graph:?}");
    assert!(!graph["api"].contains("sync") && !graph["api"].contains("session"));
}
