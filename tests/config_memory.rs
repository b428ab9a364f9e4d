//! Issue 22: loading a configuration takes at most eight times the file's size in memory, for
//! every shape of file: the peak of the heap while `Config::load` reads a file and every
//! diagnostic is rendered as `route` prints them, measured by a counting allocator.
//!
//! Its own test binary, because the allocator is global (counts are per thread). The shapes are
//! `benches/config.rs`'s, at 1 MB each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on what it did not expect"
)]

use tagroute::Strictness;
use tagroute::config::Config;

#[path = "../benches/config_shapes.rs"]
mod config_shapes;

#[path = "counting.rs"]
mod counting;

use counting::peak_of;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Loads `path` and renders every diagnostic, one at a time, as `tagroute check` and `route`
/// print them.
fn load_and_render(path: &std::path::Path) {
    match Config::load(path, Strictness::Default) {
        Ok(config) => {
            for warning in config.warnings() {
                std::hint::black_box(warning.render_in("neo4j.conf", config.line_index()));
            }
        }
        Err(errors) => {
            for diagnostic in errors.errors().iter().chain(errors.warnings()) {
                std::hint::black_box(diagnostic.render_in("neo4j.conf", errors.line_index()));
            }
        }
    }
}

/// The most any shape may take, as a multiple of its size. The tightest is the policy
/// continued over every line (7.2x at 1 MB, 40,000 distinct rules): its text twice (the file,
/// the policy's value), the place of each line, and while the policies are compiled to see that
/// they can be served, a program of about 36 bytes a rule and an interner of about 60 a new tag.
const BOUND: f64 = 8.0;

#[test]
fn loading_takes_at_most_eight_times_the_files_size() {
    let dir = std::env::temp_dir().join(format!("tagroute-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut report = Vec::new();
    for (shape, text) in config_shapes::shapes(1 << 20) {
        let path = dir.join(format!("{shape}.conf"));
        std::fs::write(&path, &text).expect("write");
        let peak = peak_of(|| load_and_render(&path));
        let ratio = peak as f64 / text.len() as f64;
        report.push(format!("{shape}: {ratio:.1}x ({peak} bytes)"));
        assert!(
            ratio <= BOUND,
            "{shape}: peak {peak} bytes for a file of {} ({ratio:.1}x)\n{}",
            text.len(),
            report.join("\n")
        );
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    println!("{}", report.join("\n"));
}
