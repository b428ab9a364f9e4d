//! The resilience heatmap in a real browser: headless Chromium loads the page the binary
//! wrote and dumps the DOM it built; the test checks the cells, the legend and the findings,
//! and that the browser reported no error (a failed load would mean the page is not
//! self-contained).
//!
//! Chromium is found through `TAGROUTE_CHROMIUM`, else at `/usr/bin/chromium`; set but
//! missing is a failure. Without either, `build.rs` sets `cfg(tagroute_no_chromium)` and the
//! test is reported as ignored, with the reason. `.ci/run` installs Debian's `chromium`, so in
//! CI it always runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on what it did not expect"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{tagroute, temp_file};

/// The longest a browser run may take before the test kills it.
const BROWSER_DEADLINE: Duration = Duration::from_secs(120);

fn chromium() -> Option<PathBuf> {
    match std::env::var_os("TAGROUTE_CHROMIUM") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.exists(),
                "TAGROUTE_CHROMIUM={} does not exist",
                path.display()
            );
            Some(path)
        }
        None => Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.exists()),
    }
}

/// Runs headless Chromium on `page` with `mode` (`--dump-dom`, `--screenshot=...`), in a
/// fresh profile; returns (exit status, stdout, stderr).
fn browse(browser: &Path, page: &Path, mode: &str, profile: &Path) -> (bool, String, String) {
    std::fs::create_dir_all(profile).expect("profile dir");
    // Files, not pipes: the DOM is larger than a pipe's buffer, and nobody reads until the end.
    let (out_path, err_path) = (profile.join("stdout"), profile.join("stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("output file");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,1000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("user-data").display()
        ))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium runs") {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            panic!("chromium did not finish within {BROWSER_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).expect("output")).into_owned();
    (status.success(), read(&out_path), read(&err_path))
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
#[cfg_attr(
    tagroute_no_chromium,
    ignore = "needs Chromium: TAGROUTE_CHROMIUM was unset and /usr/bin/chromium missing when \
              tagroute was built (`apt-get install chromium`, then `touch build.rs`)"
)]
fn the_heatmap_renders_in_headless_chromium() {
    let browser = chromium().expect("build.rs found Chromium, which is gone: `touch build.rs`");
    let page = temp_file("heatmap.html", "");
    let run = tagroute(
        &[
            "resilience",
            "--demo",
            "--depth",
            "2",
            "--format",
            "html",
            "--out",
            &page.to_string_lossy(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let profile = std::env::temp_dir().join(format!("tagroute-chromium-{}", std::process::id()));
    let (ok, dom, log) = browse(&browser, &page, "--dump-dom", &profile);
    assert!(ok, "chromium failed:\n{log}");
    for error in ["Uncaught", "net::ERR_", "Failed to load", "Refused to"] {
        assert!(
            !log.contains(error),
            "the browser reported `{error}`:\n{log}"
        );
    }
    // The demo: 3 databases x 5 policies, 37 scenarios of up to 2 of 8 data centers.
    assert_eq!(count(&dom, "<tr><th scope=\"row\">"), 15, "{dom}");
    assert_eq!(count(&dom, "<th scope=\"col\" class=\"scenario\">"), 37);
    let cells = count(&dom, "<td class=\"");
    assert_eq!(cells, 15 * 37);
    let outages = count(&dom, "<td class=\"outage\"");
    assert!(outages > 0 && outages < cells, "{outages} outage cells");
    assert!(
        count(&dom, "<td class=\"r2\"") > 0,
        "a fallback to rule 2 is coloured"
    );
    assert!(
        dom.contains("nothing down: rule 1"),
        "hover text names scenario and rule"
    );
    for entry in [
        "data-class=\"r1\"",
        "data-class=\"r2\"",
        "data-class=\"implicit\"",
        "data-class=\"outage\"",
    ] {
        assert!(dom.contains(entry), "legend entry {entry}");
    }
    let findings = count(&dom, "<li class=\"finding ");
    assert!(findings >= 5, "{findings} findings");
    let first_finding = dom.find("<li class=\"finding ").expect("findings");
    assert!(
        first_finding < dom.find("<table class=\"heatmap\"").expect("heatmap"),
        "findings above the heatmap"
    );
    assert!(dom.contains("data-kind=\"outage\"") && dom.contains("data-kind=\"leader-priority\""));
    let shot = profile.join("heatmap.png");
    let (ok, _, log) = browse(
        &browser,
        &page,
        &format!("--screenshot={}", shot.display()),
        &profile,
    );
    assert!(ok, "chromium failed to render:\n{log}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let _ = std::fs::remove_dir_all(&profile);
}
