//! Property tests of the admin listener's request parsers: `POST /topology/updates`' batch
//! reader and what `POST /reload` reads (the topology file), against duplicate keys, deep
//! nesting and huge numbers. Each input is refused with the field at fault, never accepted with
//! one value silently winning, never a panic, and a refused reload changes nothing.

use proptest::prelude::*;
use tagroute::serve::updates::parse_updates;
use tagroute::topology::TopologyErrorKind;

use super::client::*;

/// One object as written: keys and their JSON values, in order (duplicates allowed).
type Object = Vec<(String, String)>;

fn render(object: &Object) -> String {
    let entries: Vec<String> = object
        .iter()
        .map(|(k, v)| format!("{}: {v}", serde_json::Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

/// A valid update (as far as its shape goes), as written.
fn update() -> impl Strategy<Value = Object> {
    let entry = |k: &str, v: String| (k.to_owned(), v);
    prop_oneof![
        (name(), any::<bool>()).prop_map(move |(s, up)| vec![
            entry("op", quoted("set_available")),
            entry("server", quoted(&s)),
            entry("available", up.to_string()),
        ]),
        (name(), prop::collection::vec(name(), 0..4)).prop_map(move |(s, tags)| vec![
            entry("op", quoted("set_tags")),
            entry("server", quoted(&s)),
            entry("tags", serde_json::Value::from(tags).to_string()),
        ]),
        (name(), prop::option::of(name())).prop_map(move |(d, leader)| vec![
            entry("op", quoted("set_leader")),
            entry("database", quoted(&d)),
            entry("leader", leader.map_or("null".into(), |l| quoted(&l))),
        ]),
        name().prop_map(move |s| vec![
            entry("op", quoted("remove_server")),
            entry("server", quoted(&s)),
        ]),
        (name(), 1u16..65535).prop_map(move |(s, port)| {
            let server = vec![
                entry("name", quoted(&s)),
                entry("address", quoted(&format!("{s}:{port}"))),
            ];
            vec![
                entry("op", quoted("add_server")),
                entry("server", render(&server)),
            ]
        }),
    ]
}

fn batch(items: &[Object]) -> String {
    let items: Vec<String> = items.iter().map(render).collect();
    format!("[{}]", items.join(", "))
}

/// What replaces a value: nested deeper than any reader allows, or a number no type holds.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..20_000).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        (1usize..5_000).prop_map(|d| format!("{}1{}", "{\"a\": ".repeat(d), "}".repeat(d))),
        "[1-9][0-9]{30,400}",
        "-?[1-9]e[1-9][0-9]{3,6}",
        Just("1e999999999999".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_valid_batch_reads_whole(items in prop::collection::vec(update(), 0..6)) {
        let read = parse_updates(&batch(&items)).map_err(|e| e.to_string());
        prop_assert_eq!(read.map(|u| u.len()), Ok(items.len()));
    }

    #[test]
    fn a_key_given_twice_is_refused_naming_it(
        items in prop::collection::vec(update(), 1..5),
        pick in any::<prop::sample::Index>(),
        entry in any::<prop::sample::Index>(),
        inner in any::<bool>(),
    ) {
        let mut items = items;
        let i = pick.index(items.len());
        let item = &mut items[i];
        let nested = item.iter().position(|(k, v)| k == "server" && v.starts_with('{'));
        let field = match nested.filter(|_| inner) {
            // Inside an embedded server: the topology file's reader names it.
            Some(at) => {
                let mut server: Vec<(String, String)> = serde_json::from_str::<serde_json::Map<_, _>>(&item[at].1)
                    .expect("an object")
                    .into_iter()
                    .map(|(k, v)| (k, v.to_string()))
                    .collect();
                let (key, _) = server[entry.index(server.len())].clone();
                server.push((key.clone(), quoted("other")));
                item[at].1 = render(&server);
                format!("updates[{i}].server.{key}")
            }
            None => {
                let (key, value) = item[entry.index(item.len())].clone();
                item.push((key.clone(), value));
                format!("updates[{i}].{key}")
            }
        };
        let error = parse_updates(&batch(&items)).expect_err("refused");
        prop_assert_eq!(error.field(), field.as_str());
        prop_assert_eq!(error.kind(), &TopologyErrorKind::DuplicateKey);
        prop_assert!(error.to_string().ends_with("key given twice"));
    }

    #[test]
    fn deep_nesting_and_huge_numbers_are_refused_at_their_field(
        items in prop::collection::vec(update(), 1..4),
        pick in any::<prop::sample::Index>(),
        entry in any::<prop::sample::Index>(),
        value in hostile(),
    ) {
        let mut items = items;
        let i = pick.index(items.len());
        let j = entry.index(items[i].len());
        items[i][j].1 = value;
        let key = items[i][j].0.clone();
        let error = parse_updates(&batch(&items)).expect_err("refused");
        // The whole text is well-formed JSON: every error names the field it is about.
        let field = format!("updates[{i}].{key}");
        prop_assert!(
            error.field().starts_with(&field),
            "{} does not name {}", error, field
        );
    }
}

/// A reload reads the topology file as strictly: a key given twice, nesting too deep or a huge
/// number is refused, and the snapshot served stays the one before.
#[test]
fn a_reload_of_a_hostile_topology_changes_nothing() {
    let dir = scratch("parsers-reload");
    let (config, topology) = (dir.join("neo4j.conf"), dir.join("topology.json"));
    std::fs::copy(data("neo4j.conf"), &config).expect("copies");
    std::fs::copy(data("topology.json"), &topology).expect("copies");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let server = runtime.block_on(start(settings(&config, &topology)));
    let good = std::fs::read_to_string(&topology).expect("reads");
    let served = server.handle.snapshot();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let hostile_topology = prop_oneof![
        hostile().prop_map(|v| good.replacen("\"r1\"", &v, 1)),
        hostile().prop_map(|v| good.replacen("[", &format!("[{v}, "), 1)),
        Just(good.replacen("\"name\": \"r1\"", "\"name\": \"r1\", \"name\": \"r9\"", 1)),
        Just(good.replacen("{", "{\"servers\": [], ", 1)),
    ];
    runner
        .run(&hostile_topology, |text| {
            prop_assert_ne!(&text, &good);
            std::fs::write(&topology, &text).expect("writes");
            let error = runtime.block_on(server.handle.reload("http"));
            prop_assert!(error.is_err(), "accepted: {}", &text[..text.len().min(200)]);
            prop_assert!(std::sync::Arc::ptr_eq(&server.handle.snapshot(), &served));
            Ok(())
        })
        .expect("every hostile topology is refused");
    runtime.block_on(server.stop());
    let _ = std::fs::remove_dir_all(dir);
}
