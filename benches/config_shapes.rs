//! The neo4j.conf shapes that were quadratic or bloated (issues 14 and 22), each about `size`
//! bytes: shared by `benches/config.rs` (time and peak memory) and `tests/config_memory.rs`
//! (peak memory at most 8x the file).

/// Every shape, named, about `size` bytes each.
pub fn shapes(size: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "distinct-keys",
            lines(size, |i| format!("server.x{i}=value{i}\n")),
        ),
        ("short-keys", lines(size, |i| format!("k{i}=\n"))),
        (
            "unknown-keys",
            lines(size, |i| {
                format!("dbms.routing.reads_on_primary_enabled{i}=false\n")
            }),
        ),
        (
            "duplicate-keys",
            lines(size, |_| "dbms.routing_ttl=5s\n".into()),
        ),
        (
            "continuation-lines",
            continued("initial.server.tags=t", size, |i| format!(",t{i}")),
        ),
        (
            "policy-continued",
            continued(&format!("{POLICY}tags(t0)"), size, |i| {
                format!(";tags(t{i})->min(2)")
            }),
        ),
        ("repeated-rules", repeated_rules(size)),
        ("random-ascii", random_ascii(size)),
        (
            "long-unknown-key",
            format!("dbms.routing.{}=x\n", "a".repeat(size)),
        ),
    ]
}

const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.p=";

/// Lines `line(0)`, `line(1)`, ... up to `size` bytes.
fn lines(size: usize, line: impl Fn(usize) -> String) -> String {
    let mut text = String::with_capacity(size + 64);
    for i in 0.. {
        if text.len() >= size {
            break;
        }
        text.push_str(&line(i));
    }
    text
}

/// `first`, then `item(1)`, `item(2)`, ... each on a line of its own, indented, every line but
/// the last continued with a backslash: one logical line of about `size` bytes.
fn continued(first: &str, size: usize, item: impl Fn(usize) -> String) -> String {
    let mut text = format!("{first}\\\n");
    for i in 1.. {
        if text.len() >= size {
            break;
        }
        text.push_str(&format!("    {}\\\n", item(i)));
    }
    text.push('\n');
    text
}

/// One policy of rules on one line, nearly all repeating one of the first 50: a warning each.
fn repeated_rules(size: usize) -> String {
    let mut text = format!("{POLICY}tags(t0)");
    for i in 1.. {
        if text.len() >= size {
            break;
        }
        text.push_str(&format!(";tags(t{})", i % 50));
    }
    text.push('\n');
    text
}

/// `len` bytes of printable ASCII and line breaks, from a fixed seed.
fn random_ascii(len: usize) -> String {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state % 97 {
                0..=4 => '\n',
                n => char::from(b' ' + (n % 95) as u8),
            }
        })
        .collect()
}
