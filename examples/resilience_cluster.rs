//! Writes the cluster of the resilience figures as files, for `tagroute resilience`:
//!
//! ```text
//! cargo run --release --example resilience_cluster -- DIR [DCS PER_DC POLICIES]
//! time target/release/tagroute resilience --config DIR/neo4j.conf --topology DIR/topology.json --depth 2
//! ```
//!
//! The defaults are the figure's: 32 data centers of 32 servers (1,024), 20 policies.

#[path = "../benches/resilience_cluster.rs"]
mod resilience_cluster;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("resilience-cluster", String::as_str));
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (topology, conf) = resilience_cluster::cluster(number(1, 32), number(2, 32), number(3, 20));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("topology.json"), topology)?;
    std::fs::write(dir.join("neo4j.conf"), conf)?;
    println!("wrote {0}/topology.json and {0}/neo4j.conf", dir.display());
    Ok(())
}
