//! The clusters of the resilience figures: `dcs` data centers of `per_dc` servers, four data
//! centers to a region, every third server with an `ssd` tag; three databases with five
//! primaries in five data centers and two secondaries in every data center; `policies`
//! policies of the documented shapes over those tags. Shared by `benches/resilience.rs` and
//! `examples/resilience_cluster.rs` (which writes them as files for the CLI).

/// The topology as JSON and the neo4j.conf, deterministic for given sizes.
pub fn cluster(dcs: usize, per_dc: usize, policies: usize) -> (String, String) {
    let server = |dc: usize, i: usize| format!("s{dc:02}-{i:02}");
    let mut servers = Vec::new();
    for dc in 0..dcs {
        for i in 0..per_dc {
            let mut tags = vec![format!("\"dc{dc:02}\""), format!("\"region{}\"", dc / 4)];
            if (dc * per_dc + i) % 3 == 0 {
                tags.push("\"ssd\"".into());
            }
            let name = server(dc, i);
            servers.push(format!(
                "{{\"name\": \"{name}\", \"address\": \"{name}.example:7687\", \"tags\": [{}]}}",
                tags.join(", ")
            ));
        }
    }
    let quoted = |names: Vec<String>| {
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let databases: Vec<String> = (0..3)
        .map(|d| {
            let primaries: Vec<String> =
                (0..5).map(|k| server((d + k * dcs / 5) % dcs, 0)).collect();
            let secondaries: Vec<String> = (0..dcs)
                .flat_map(|dc| (1..3.min(per_dc)).map(move |i| server(dc, i)))
                .collect();
            format!(
                "{{\"name\": \"db{d}\", \"primaries\": [{}], \"secondaries\": [{}], \"leader\": \"{}\"}}",
                quoted(primaries.clone()),
                quoted(secondaries),
                primaries.first().cloned().unwrap_or_default()
            )
        })
        .collect();
    let topology = format!(
        "{{\"servers\": [\n{}\n], \"databases\": [\n{}\n]}}\n",
        servers.join(",\n"),
        databases.join(",\n")
    );
    let regions = dcs.div_ceil(4).max(1);
    let mut conf = String::new();
    for p in 0..policies {
        let (dc, other, region) = (p % dcs, (p + 1) % dcs, (p % dcs) / 4 % regions);
        let text = match p % 4 {
            0 => format!("tags(dc{dc:02})->min(2); tags(region{region}); halt()"),
            1 => {
                format!("tags(dc{dc:02},dc{other:02})->min(3); tags(region{region})->min(3); all()")
            }
            2 => format!("tags(region{region})->tags(ssd)->min(2); tags(region{region})"),
            _ => format!("tags(dc{dc:02})->min(2); halt()"),
        };
        conf.push_str(&format!(
            "dbms.routing.load_balancing.config.server_policies.p{p:02}={text}\n"
        ));
    }
    conf.push_str(
        "server.cluster.catchup.upstream_strategy=user-defined,typically-connect-to-random-secondary\n\
         server.cluster.catchup.user_defined_upstream_strategy=tags(dc00); tags(region0); halt()\n\
         db.cluster.raft.leader_transfer.priority_tag.db0=region0\n",
    );
    (topology, conf)
}
