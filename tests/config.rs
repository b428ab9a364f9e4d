//! neo4j.conf as Neo4j 5 reads it: the table of issue 12, one test per row, through the public
//! API (`Config::parse` for text, `Config::load_with` for bytes).

use std::path::Path;
use std::time::Duration;

use tagroute::Strictness;
use tagroute::config::{
    Charset, Config, ConfigDiagnosticKind as Kind, ConfigErrors, java_properties,
};

const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

fn refused(text: &str) -> ConfigErrors {
    match Config::parse(text, Path::new("neo4j.conf"), Strictness::Default) {
        Ok(_) => panic!("loaded: {text:?}"),
        Err(errors) => errors,
    }
}

fn loaded(text: &str) -> Config {
    Config::parse(text, Path::new("neo4j.conf"), Strictness::Default)
        .unwrap_or_else(|errors| panic!("{}", errors.render_all()))
}

fn load_bytes(name: &str, bytes: &[u8]) -> Result<Config, ConfigErrors> {
    let dir = std::env::temp_dir().join(format!("tagroute-config-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    let result = Config::load_with(&path, Strictness::Default, Charset::Latin1);
    std::fs::remove_file(&path).expect("clean up");
    result
}

#[test]
fn the_same_key_twice_is_refused() {
    let errors = refused("dbms.routing_ttl=10s\ndbms.routing_ttl=20s\n");
    assert_eq!(errors.errors().len(), 1);
    let error = &errors.errors()[0];
    assert_eq!(error.kind, Kind::DuplicateKey);
    assert!(
        error.message.contains("declared multiple times"),
        "{}",
        error.message
    );
    assert!(errors.stops_neo4j());
    assert_eq!(errors.to_string().split(':').nth(1), Some("2"));
    // server.jvm.additional may repeat.
    loaded("server.jvm.additional=-Xa\nserver.jvm.additional=-Xb\n");
}

#[test]
fn a_misspelt_setting_is_refused_with_did_you_mean() {
    let errors = refused("dbms.routing.reads_on_primary_enabled=false\n");
    let error = &errors.errors()[0];
    assert_eq!(error.kind, Kind::UnknownKey);
    assert_eq!(
        error.help.as_deref(),
        Some("did you mean `dbms.routing.reads_on_primaries_enabled`?")
    );
}

#[test]
fn a_misspelt_policy_prefix_is_refused_with_did_you_mean() {
    let errors = refused("dbms.routing.load_balancing.config.server_policy.p=tags(a)\n");
    let error = &errors.errors()[0];
    assert_eq!(error.kind, Kind::UnknownKey);
    assert_eq!(
        error.help.as_deref(),
        Some("did you mean `dbms.routing.load_balancing.config.server_policies.p`?")
    );
}

#[test]
fn a_byte_order_mark_is_refused_and_named() {
    let mut bytes = vec![0xef, 0xbb, 0xbf];
    bytes.extend_from_slice(format!("{POLICY}p=tags(a)\n").as_bytes());
    let errors = load_bytes("bom.conf", &bytes).expect_err("refused");
    assert_eq!(errors.errors().len(), 1, "{}", errors.render_all());
    let error = &errors.errors()[0];
    assert_eq!(error.kind, Kind::ByteOrderMark);
    assert!(
        error.message.contains("byte-order mark"),
        "{}",
        error.message
    );
    assert_eq!(error.span.start, 0);
    assert_eq!(&errors.source()[error.span.range()], "\u{ef}\u{bb}\u{bf}");
}

#[test]
fn latin1_text_loads() {
    let config =
        load_bytes("latin1.conf", b"# caf\xe9\ninitial.server.tags=north\n").expect("loads");
    assert_eq!(config.initial_server_tags(), ["north"]);
    assert!(config.source().starts_with("# caf\u{e9}"));
}

#[test]
fn a_blank_separates_key_and_value() {
    let config = loaded(&format!("{POLICY}p tags(a); halt()\n"));
    assert_eq!(
        config
            .policy("p")
            .map(|p| p.policy().to_string())
            .as_deref(),
        Some("tags(a); halt()")
    );
}

#[test]
fn escapes_in_keys_and_values_are_decoded() {
    let text = format!("{POLICY}\\u0070=tags(a\\u002Cb)\\t;\\ halt()\nk\\=x\\:y=v\\\\w\n");
    assert_eq!(
        java_properties(&text).expect("reads"),
        [
            (format!("{POLICY}p"), "tags(a,b)\t; halt()".to_owned()),
            ("k=x:y".to_owned(), "v\\w".to_owned()),
        ]
    );
    let config = Config::parse(
        &format!("{POLICY}\\u0070=tags(a\\u002Cb)\\t;\\ halt()\n"),
        Path::new("neo4j.conf"),
        Strictness::Default,
    )
    .expect("loads");
    let p = config.policy("p").expect("policy p, not `\\u0070`");
    assert_eq!(p.policy().to_string(), "tags(a,b); halt()");
    // A span in the decoded value still points into the file: `,` is written `\u002C`.
    let comma = p.text().find(',').expect("comma");
    let span = p.file_span(tagroute::span::Span::new(comma, comma + 1));
    assert_eq!(&config.source()[span.range()], "\\u002C");
}

#[test]
fn durations_as_timeutil_reads_them() {
    for (value, expected) in [
        ("1m30s", Duration::from_secs(90)),
        ("5M", Duration::from_secs(300)),
        ("1500MS", Duration::from_millis(1500)),
        ("2000000us", Duration::from_secs(2)),
        ("1h1s", Duration::from_secs(3601)),
    ] {
        let config = loaded(&format!("dbms.routing_ttl={value}\n"));
        assert_eq!(config.routing().ttl, expected, "{value}");
    }
    let errors = refused("dbms.routing_ttl=1m30\n");
    assert_eq!(errors.errors()[0].kind, Kind::InvalidDuration);
}

#[test]
fn a_malformed_unicode_escape_is_refused_where_it_is() {
    let errors = refused("initial.server.tags=a\ndbms.routing_ttl=\\u12x4\n");
    let error = &errors.errors()[0];
    assert_eq!(error.kind, Kind::MalformedEscape);
    assert_eq!(&errors.source()[error.span.range()], "\\u12x4");
    assert_eq!(errors.to_string().split(':').nth(1), Some("2"));
}

#[test]
fn strict_validation_off_loads_what_neo4j_would_start_with() {
    let config = loaded(
        "server.config.strict_validation.enabled=false\n\
         dbms.routing_ttl=10s\ndbms.routing_ttl=20s\n\
         dbms.routing.reads_on_primary_enabled=false\n",
    );
    assert_eq!(config.routing().ttl, Duration::from_secs(20));
    assert!(config.routing().reads_on_primaries);
    let kinds: Vec<Kind> = config.warnings().iter().map(|w| w.kind).collect();
    assert_eq!(kinds, [Kind::DuplicateKey, Kind::UnknownKey]);
}
