//! `resilience --format html`: one self-contained page (no scripts, fonts or styles from
//! elsewhere): the ranked findings, a legend, and a heatmap of (database, policy) rows ×
//! scenario columns coloured by the rule that answered, outages in red, with the readers and
//! their load on hover.

use std::fmt::Write as _;
use std::io::Write;

use tagroute::resilience::{Analysis, Answer, Record};

use super::{Header, Names, RowOf};
use crate::report::Failure;

/// Distinct colours for rules 1, 2, ...; rules beyond them reuse them in turn.
const RULE_COLOURS: [&str; 8] = [
    "#2e7d32", "#1565c0", "#6a1b9a", "#ef6c00", "#00838f", "#9e9d24", "#ad1457", "#4e342e",
];

/// How many readers a cell's hover text names before it says "and N more".
const HOVER_READERS: usize = 8;

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}\
.summary{color:#555}\
ol.findings li{margin:.2em 0}.kind{display:inline-block;min-width:10em;font-weight:600}\
li.outage .kind,li.no-quorum .kind,li.no-upstream .kind{color:#c62828}\
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1em}\
.swatch{display:inline-block;width:1em;height:1em;vertical-align:middle;margin-right:.3em;border:1px solid #0003}\
table.heatmap{border-collapse:collapse;font-size:12px}\
table.heatmap th{font-weight:normal;text-align:left;padding:0 .5em 0 0;white-space:nowrap}\
table.heatmap thead th{writing-mode:vertical-rl;transform:rotate(180deg);padding:.3em 0;max-height:12em}\
table.heatmap td{width:12px;height:16px;padding:0;border:1px solid #fff}\
td.implicit,.swatch.implicit{background:#9e9e9e}\
td.outage,.swatch.outage{background:#d32f2f}";

pub fn page(
    analysis: &Analysis<'_>,
    header: &Header<'_>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let names = Names::of(analysis.snapshot());
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row_of = RowOf::default();
    let mut columns: Vec<String> = Vec::new();
    let mut rules = 0usize;
    let findings = analysis
        .sweep(header.domains, header.depth, |record| {
            let scenario = record.scenario();
            if columns.len() as u64 <= scenario.number() {
                let down: Vec<&str> = scenario.names(header.domains).collect();
                columns.push(if down.is_empty() {
                    "nothing down".to_owned()
                } else {
                    down.join(" + ")
                });
            }
            let at = row_of.of(record);
            if rows.len() <= at {
                let name = format!("{}/{}", record.database().name(), record.policy());
                rows.push((name, String::new()));
            }
            if let (Answer::Rule(n), false) = (record.outcome().answer(), record.is_outage()) {
                rules = rules.max(n);
            }
            if let Some((_, cells)) = rows.get_mut(at) {
                cell(
                    record,
                    &names,
                    columns.last().map_or("", String::as_str),
                    cells,
                );
            }
        })
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<title>tagroute resilience</title><style>");
    page.push_str(STYLE);
    for (i, colour) in RULE_COLOURS.iter().enumerate() {
        let _ = write!(page, "td.r{0},.swatch.r{0}{{background:{colour}}}", i + 1);
    }
    page.push_str("</style></head><body>\n<h1>Resilience: every policy under every failure</h1>\n");
    let domains: Vec<&str> = header.domains.iter().map(|d| d.name()).collect();
    let _ = writeln!(
        page,
        "<p class=\"summary\">{} failure domains ({}): {}; up to {} down at once: {} scenarios.</p>",
        domains.len(),
        header.origin,
        escape(&domains.join(", ")),
        header.depth,
        findings.scenarios()
    );
    page.push_str("<section id=\"findings\"><h2>Findings, most urgent first</h2>\n");
    if findings.is_empty() {
        page.push_str("<p class=\"none\">No findings.</p>\n");
    } else {
        page.push_str("<ol class=\"findings\">\n");
        for f in findings.iter() {
            let _ = writeln!(
                page,
                "<li class=\"finding {0}\" data-kind=\"{0}\"><span class=\"kind\">{0}</span> {1}</li>",
                f.kind().as_str(),
                escape(&f.to_string())
            );
        }
        page.push_str("</ol>\n");
    }
    page.push_str("</section>\n");
    legend(&mut page, rules);
    page.push_str("<section id=\"heatmap\"><h2>Heatmap: (database, policy) × scenario</h2>\n<table class=\"heatmap\"><thead><tr><th></th>");
    for column in &columns {
        let _ = write!(
            page,
            "<th scope=\"col\" class=\"scenario\">{}</th>",
            escape(column)
        );
    }
    page.push_str("</tr></thead><tbody>\n");
    for (name, cells) in &rows {
        let _ = writeln!(
            page,
            "<tr><th scope=\"row\">{}</th>{cells}</tr>",
            escape(name)
        );
    }
    page.push_str("</tbody></table></section>\n</body></html>\n");
    out.write_all(page.as_bytes())?;
    Ok(())
}

fn legend(page: &mut String, rules: usize) {
    page.push_str("<section id=\"legend\"><h2>Legend</h2><ul class=\"legend\">");
    for n in 1..=rules {
        let class = rule_class(n);
        let _ = write!(
            page,
            "<li data-class=\"{class}\"><span class=\"swatch {class}\"></span>rule {n} answered</li>"
        );
    }
    page.push_str("<li data-class=\"implicit\"><span class=\"swatch implicit\"></span>no rule answered: the implicit all()</li>");
    page.push_str("<li data-class=\"outage\"><span class=\"swatch outage\"></span>outage: no readers or no routers</li>");
    page.push_str("</ul></section>\n");
}

fn rule_class(n: usize) -> String {
    format!("r{}", (n.max(1) - 1) % RULE_COLOURS.len() + 1)
}

/// One `<td>`: its class says what answered; its title the scenario, readers and load.
fn cell(record: &Record<'_>, names: &Names, scenario: &str, cells: &mut String) {
    let outcome = record.outcome();
    let class = match (record.is_outage(), outcome.answer()) {
        (true, _) | (_, Answer::Nothing) => "outage".to_owned(),
        (false, Answer::Rule(n)) => rule_class(n),
        (false, Answer::Implicit) => "implicit".to_owned(),
    };
    let mut title = format!("{scenario}: {}", outcome.answer());
    if record.is_outage() {
        title.push_str(" (outage)");
    }
    let readers = names.list(outcome.readers());
    let share = 1.0 / readers.len().max(1) as f64;
    let growth = record.growth().next().map(|(_, g)| g);
    let today = record.today().readers();
    if !readers.is_empty() {
        let _ = write!(title, "\n{} readers, load {share:.3} each", readers.len());
        for (idx, name, _) in names.sorted(outcome.readers()).take(HOVER_READERS) {
            let _ = match growth.filter(|_| today.contains(*idx)) {
                Some(g) => write!(title, "\n{name}: {share:.3} (x{g:.2})"),
                None => write!(title, "\n{name}: {share:.3} (new)"),
            };
        }
        if readers.len() > HOVER_READERS {
            let _ = write!(title, "\nand {} more", readers.len() - HOVER_READERS);
        }
    }
    let _ = write!(
        cells,
        "<td class=\"{class}\" title=\"{}\"></td>",
        escape(&title)
    );
}

/// Text safe inside HTML elements and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(rule_class(1), "r1");
        assert_eq!(rule_class(9), "r1");
    }
}
