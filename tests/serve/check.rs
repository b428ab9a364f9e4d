//! `tagroute serve --check`: every input loaded as a start would, exit 0 or 1 with the start's
//! own diagnostics; and `serve`'s flags from `TAGROUTE_<FLAG>` variables, the command line
//! winning.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::client::*;

/// `tagroute serve ARGS` with these variables set (and no other `TAGROUTE_` one inherited).
fn serve(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tagroute"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TAGROUTE_") {
            command.env_remove(name);
        }
    }
    command.arg("serve").args(args).envs(env.iter().copied());
    command
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = serve(args, env).output().expect("runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8");
    (status.code().expect("exited"), text(stdout), text(stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn check_loads_every_input_and_says_what_would_be_served() {
    let dir = scratch("check-ok");
    let (config, topology) = (data("neo4j.conf"), data("topology.json"));
    let hash = tagroute::serve::auth::hash_password("s3cret").expect("hashes");
    let auth = dir.join("users.auth");
    std::fs::write(
        &auth,
        format!("app:{}\nops:{}\n", hash.as_str(), hash.as_str()),
    )
    .expect("writes");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("a certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("writes");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("writes");
    // `--check` binds nothing: the port may be taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let listen = taken.local_addr().expect("an address").to_string();
    let args = [
        "--check",
        "--config",
        path(&config),
        "--topology",
        path(&topology),
        "--auth-file",
        path(&auth),
        "--tls-cert",
        path(&cert),
        "--tls-key",
        path(&key),
        "--listen",
        &listen,
        "--no-admin",
    ];
    let (code, stdout, stderr) = run(&args, &[]);
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with(&format!("config    {}: policies ", config.display())));
    assert!(lines[0].contains("europe"), "{stdout}");
    assert!(lines[1].starts_with(&format!("topology  {}: ", topology.display())));
    assert_eq!(lines[2], format!("auth      {}: 2 users", auth.display()));
    let tls = format!(
        "tls       {}, {}: valid until ",
        cert.display(),
        key.display()
    );
    assert!(lines[3].starts_with(&tls), "{stdout}");
    assert_eq!(
        &lines[4..],
        [
            format!("bolt      {listen}").as_str(),
            "admin     off",
            "serve: would start"
        ]
    );
    // Nothing was bound: the same check again, and a real start on the same port, succeed.
    assert_eq!(run(&args, &[]).0, 0);
}

#[test]
fn check_exits_one_with_every_failing_input_as_a_start_would_print_it() {
    let dir = scratch("check-bad");
    let missing = |name: &str| dir.join(name).display().to_string();
    let topology = dir.join("topology.json");
    std::fs::write(&topology, "{\"servers\": [}").expect("writes");
    let files = [
        "--config",
        &missing("neo4j.conf"),
        "--topology",
        path(&topology),
        "--auth-file",
        &missing("users.auth"),
        "--tls-cert",
        &missing("cert.pem"),
        "--tls-key",
        &missing("key.pem"),
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
    ];
    let (code, stdout, checked) = run(&[&["--check"], &files[..]].concat(), &[]);
    assert_eq!((code, stdout.as_str()), (1, ""), "{checked}");
    let lines: Vec<&str> = checked.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "error: cannot read {}: No such file or directory (os error 2)",
            missing("neo4j.conf")
        )
    );
    assert!(
        lines[1].starts_with(&format!("{}: ", topology.display())),
        "{checked}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "{}: cannot read the auth file: ",
            missing("users.auth")
        )),
        "{checked}"
    );
    assert!(lines[3].starts_with(&missing("cert.pem")), "{checked}");
    assert_eq!(lines.len(), 4, "{checked}");
    // A start with the same files fails before binding, with the same diagnostics.
    let (code, stdout, started) = run(&files, &[]);
    assert_eq!(
        (code, stdout.as_str(), started.as_str()),
        (1, "", checked.as_str())
    );

    // One bad input of several: only its error.
    let (config, good_topology) = (data("neo4j.conf"), data("topology.json"));
    let (code, _, stderr) = run(
        &[
            "--check",
            "--config",
            path(&config),
            "--topology",
            path(&good_topology),
            "--auth-file",
            &missing("users.auth"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read the auth file"), "{stderr}");
}

#[test]
fn flags_come_from_the_environment_and_the_command_line_wins() {
    let (config, topology) = (data("neo4j.conf"), data("topology.json"));
    let env = [
        ("TAGROUTE_CONFIG", path(&config)),
        ("TAGROUTE_TOPOLOGY", path(&topology)),
        ("TAGROUTE_LISTEN", "127.0.0.2:7700"),
        ("TAGROUTE_ADVERTISE", "tagroute-a:7687,tagroute-b:7687"),
        ("TAGROUTE_NO_ADMIN", "yes"),
    ];
    let (code, stdout, stderr) = run(&["--check"], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\nbolt      127.0.0.2:7700\n"), "{stdout}");
    assert!(
        stdout.contains("\nadvertise tagroute-a:7687, tagroute-b:7687\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\nadmin     off\n"), "{stdout}");

    let (code, stdout, _) = run(&["--check", "--listen", "127.0.0.1:7701"], &env);
    assert_eq!(code, 0);
    assert!(stdout.contains("\nbolt      127.0.0.1:7701\n"), "{stdout}");

    // TAGROUTE_NO_ADMIN=false is no --no-admin, and does not conflict with --admin.
    let env_admin = [env[0], env[1], ("TAGROUTE_NO_ADMIN", "false")];
    let (code, stdout, stderr) = run(&["--check", "--admin", "127.0.0.1:7702"], &env_admin);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\nadmin     127.0.0.1:7702\n"), "{stdout}");
    let (code, _, stderr) = run(
        &["--check"],
        &[env[0], env[1], ("TAGROUTE_NO_ADMIN", "maybe")],
    );
    assert_eq!(code, 2, "a value that is no boolean is a usage error");
    assert!(stderr.contains("'maybe' for '--no-admin'"), "{stderr}");

    // A bad value in the environment is a usage error naming the flag, unless the flag is
    // given: then the variable is not read at all.
    let bad = [env[0], env[1], ("TAGROUTE_MAX_BOLT_VERSION", "3.0")];
    let (code, _, stderr) = run(&["--check"], &bad);
    assert_eq!(code, 2);
    assert!(stderr.contains("'3.0' for '--max-bolt-version"), "{stderr}");
    let (code, _, stderr) = run(&["--check", "--max-bolt-version", "5.4"], &bad);
    assert_eq!(code, 0, "{stderr}");
    let missing_file = [("TAGROUTE_CONFIG", "/nonexistent/neo4j.conf"), env[1]];
    assert_eq!(run(&["--check"], &missing_file).0, 1);
    assert_eq!(
        run(&["--check", "--config", path(&config)], &missing_file).0,
        0
    );
}

#[test]
fn a_server_listens_where_tagroute_listen_says_and_a_sighup_at_once_reloads() {
    let (config, topology) = (data("neo4j.conf"), data("topology.json"));
    let env = [
        ("TAGROUTE_CONFIG", path(&config)),
        ("TAGROUTE_TOPOLOGY", path(&topology)),
        ("TAGROUTE_LISTEN", "127.0.0.1:0"),
        ("TAGROUTE_ADMIN", "127.0.0.1:0"),
    ];
    let mut child = serve(&[], &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let (bolt, admin) = printed_addresses(&mut child);
    assert!(
        bolt.ip().is_loopback() && admin.ip().is_loopback(),
        "{bolt} {admin}"
    );
    // Port 0 came from the environment: the defaults are 7687 and 7475.
    assert_ne!(bolt.port(), 7687, "{bolt}");
    assert_ne!(admin.port(), 7475, "{admin}");
    // A SIGHUP the moment the addresses are printed reloads (its handler is in place by
    // then); it does not end the process, as SIGHUP's default action would.
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    for signal in [libc::SIGHUP, libc::SIGTERM] {
        // SAFETY: kill(2) with a pid of our own child and a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}
