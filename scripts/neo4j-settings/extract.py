#!/usr/bin/env python3
"""Builds tagroute's catalogue of Neo4j settings (data/neo4j-settings/) from Neo4j's sources.

Reads, never edits:
  --docs-operations DIR  a clone (or bare git directory) of neo4j/docs-operations: the settings
                         reference (modules/ROOT/pages/configuration/configuration-settings.adoc)
                         of each branch named by --version, the SSL policy group
                         (security/ssl-framework.adoc) and the 4.4 reference (branch 4.4);
  --neo4j DIR            a checkout of neo4j/neo4j (or of the files it needs at their paths):
                         the public setting migrators of Neo4j 5 (MIGRATOR_FILES: Neo4j5_0SettingMigrator
                         in SettingMigrators.java, ServerSettingsMigrator, FulltextSettingsMigrator),
                         which hold the 4.4 -> 5 renames and removals that Neo4j applies when it
                         starts and `neo4j-admin server migrate-configuration` writes out;
  --neo4j-commit SHA     the commit those files are read at (`--commit PATH=SHA` for one file read
                         at another commit).
Writes one TSV per version (`<version>.tsv`), `4.4.tsv` (the 4.4 names, to recognise a 4.4 file),
`migrations.tsv` and `renamed-2025.01.tsv` (the 5.26 names 2025.01 renamed and still accepts, from
the breaking-changes page of the calendar branch), each starting with `#` lines that name the
source repository, commit and path. Rerun it when a Neo4j version ships:

  python3 scripts/neo4j-settings/extract.py --docs-operations ../docs-operations \
      --neo4j ../neo4j --neo4j-commit <sha> --version 5.x=5.26 --version dev=2026.08
"""

import argparse
import pathlib
import re
import subprocess
import sys

SETTINGS_PAGE = "modules/ROOT/pages/configuration/configuration-settings.adoc"
SSL_PAGE = "modules/ROOT/pages/security/ssl-framework.adoc"
BREAKING_PAGE = "modules/ROOT/pages/breaking-changes.adoc"
MIGRATORS = "community/configuration/src/main/java/org/neo4j/configuration/SettingMigrators.java"
# The other public migrators of Neo4j 5 with 4.4 -> 5 renames (each a @ServiceProvider, so they
# run whenever Neo4j builds its configuration, as Neo4j5_0SettingMigrator does).
MIGRATOR_FILES = [
    MIGRATORS,
    "community/server/src/main/java/org/neo4j/server/configuration/ServerSettingsMigrator.java",
    "community/fulltext-index/src/main/java/org/neo4j/configuration/FulltextSettingsMigrator.java",
]
COLUMNS = [
    "name", "type", "min", "max", "or_value", "values", "default", "edition", "dynamic",
    "since", "deprecated", "replaced_by", "valid_values",
]


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout


def show(repo, branch, path):
    return git(repo, "show", f"{branch}:{path}")


def clean(text):
    """One line of plain text: AsciiDoc links, labels and markup removed."""
    text = re.sub(r"<<[^,>]*,([^>]*)>>", r"\1", text)
    text = re.sub(r"label:[a-z-]+\[[^]]*\]", "", text)
    text = re.sub(r"\+\+\+(.*?)\+\+\+", r"\1", text)
    return " ".join(text.replace("\t", " ").split())


def sections(adoc):
    """(name, role line, body lines) for each `[[config_...]]` section of the reference."""
    lines = adoc.splitlines()
    out = []
    for i, line in enumerate(lines):
        if not line.startswith("[[config_"):
            continue
        role = lines[i - 1] if i > 0 and lines[i - 1].startswith("[role=") else ""
        title = lines[i + 1] if i + 1 < len(lines) else ""
        name = re.search(r"`([^`]+)`", title)
        if not name:
            continue
        body = []
        for rest in lines[i + 2:]:
            if rest.startswith("[[config_") or rest.startswith("== ") or rest.startswith("[role="):
                break
            body.append(rest)
        out.append((name.group(1), role + " " + title + " " + " ".join(body[:3]), body))
    return out


CELL = re.compile(r"^[am]?\|(?!===)")


def cell(body, header):
    """The text of the table row `|header`: the next cell, which may start on the header's line
    or on the next (`|`, `a|` or `m|`), up to the cell after it."""
    for i, line in enumerate(body):
        m = re.match(r"\|\s*" + re.escape(header) + r"(.*)$", line.strip(), re.IGNORECASE)
        if not m:
            continue
        rest, following = m.group(1).strip(), body[i + 1:]
        if not rest and following and CELL.match(following[0]):
            rest, following = following[0], following[1:]
        text = [CELL.sub("", rest.lstrip()).strip()] if rest else []
        for more in following:
            if CELL.match(more) or more.startswith("|==="):
                break
            text.append(more)
        return clean(" ".join(text))
    return ""


NUMBER = r"`?([-0-9.]+[A-Za-zμ]*)`?"


def bounds(text):
    low = high = alt = ""
    if m := re.search(r"in the range " + NUMBER + r" to " + NUMBER, text):
        low, high = m.group(1), m.group(2)
    if m := re.search(r"minimum " + NUMBER, text):
        low = m.group(1)
    if m := re.search(r"maximum " + NUMBER, text):
        high = m.group(1)
    if m := re.search(r"is `?([-0-9.]+[A-Za-z]*)`? or is minimum", text):
        alt = m.group(1)
    if m := re.search(r"minimum " + NUMBER + r" or is " + NUMBER, text):
        alt = m.group(2)
    return tuple(x.rstrip(".") for x in (low, high, alt))


def classify(valid):
    """(type, min, max, or_value, values) from the reference's "Valid values" text."""
    v = valid
    low, high, alt = bounds(v)
    enum = re.search(r"[Oo]ne of \[([^]]*)\]", v)
    values = "|".join(x.strip() for x in enum.group(1).split(",")) if enum else ""
    element = ""
    if v.startswith("A comma-separated list") or v.startswith("A comma-separated set"):
        kind = "list" if "list" in v.split("where")[0] else "set"
        after = v.split("each element is", 1)[-1]
        element = classify_element(after)
        return (f"{kind}:{element}", "", "", "", values)
    return (classify_element(v), low, high, alt, values)


def classify_element(v):
    v = v.strip().rstrip(".")
    rules = [
        (r"^(A|a) boolean", "boolean"),
        (r"^(An|an) integer", "integer"),
        (r"^(A|a) long", "long"),
        (r"^(A|a) double", "double"),
        (r"^(A|a) duration-range", "duration-range"),
        (r"^(A|a) duration", "duration"),
        (r"^(A|a) byte size", "byte-size"),
        (r"^(A|a) socket address", "socket-address"),
        (r"^(A|a) hostname", "hostname"),
        (r"^(A|a) path", "path"),
        (r"[Oo]ne of \[", "enum"),
        (r"^(A|a) secure string", "secure-string"),
        (r"string identifying a server tag", "tag"),
        (r"valid database name pattern", "database-name-pattern"),
        (r"valid database name", "database-name"),
        (r"^(A|a) URI|^a URI", "uri"),
        (r"timezone", "timezone"),
        (r"key.value map", "key-value-map"),
        (r"jvm arguments", "jvm-arguments"),
        (r"globbing pattern", "globbing-pattern"),
        (r"file permissions", "file-permissions"),
        (r"^(A|a) string", "string"),
    ]
    for pattern, name in rules:
        if re.search(pattern, v):
            return name
    return "unknown"


def catalogue(adoc, version):
    rows = []
    for name, head, body in sections(adoc):
        valid = cell(body, "Valid values")
        kind, low, high, alt, values = classify(valid)
        labels = head
        edition = "enterprise" if re.search(r"enterprise", labels) else "community"
        dynamic = "yes" if re.search(r"label--dynamic|label:dynamic", labels) else "no"
        since = (re.search(r"label--new-([0-9.]+)", labels) or [None, ""])[1]
        deprecated = (re.search(r"label--deprecated-([0-9.]+)", labels) or [None, ""])[1]
        if not deprecated and re.search(r"label:deprecated|label--deprecated", labels):
            deprecated = version
        replaced = cell(body, "Replaced by")
        default = cell(body, "Default value")
        rows.append({
            "name": name,
            "type": kind, "min": low, "max": high, "or_value": alt, "values": values,
            "default": default, "edition": edition, "dynamic": dynamic, "since": since,
            "deprecated": deprecated, "replaced_by": " ".join(re.findall(r"[a-z][a-z0-9_.]+[a-z0-9_]", replaced)),
            "valid_values": valid,
            "_description": cell(body, "Description"),
        })
    return rows


def ssl_group(page):
    """The `dbms.ssl.policy.<scope>.<suffix>` group of the SSL framework page."""
    rows = []
    for m in re.finditer(r"^\| `([a-z_]+)`\s+\|(.*)$", page, re.M):
        suffix, rest = m.group(1), m.group(2)
        start = m.end()
        block = page[start:page.find("\n| `", start) if "\n| `" in page[start:] else len(page)]
        text = clean(rest + " " + block)
        if "Setting this to `true`" in rest or suffix in ("verify_hostname", "trust_all"):
            kind, values = "boolean", ""
        elif "Other possible values are" in text or "`REQUIRE`" in text:
            kind, values = "enum", "NONE|OPTIONAL|REQUIRE"
        elif suffix in ("ciphers", "tls_versions"):
            kind, values = "list:string", ""
        elif suffix.endswith(("_dir", "_directory", "private_key", "public_certificate")):
            kind, values = "path", ""
        else:
            kind, values = "string", ""
        rows.append({
            "name": f"dbms.ssl.policy.<scope>.{suffix}", "type": kind, "min": "", "max": "",
            "or_value": "", "values": values, "default": "", "edition": "community",
            "dynamic": "no", "since": "", "deprecated": "", "replaced_by": "",
            "valid_values": "see the SSL framework page", "_description": "",
        })
    return rows


def migrations(java, others, old_rows, new_rows):
    """The 4.4 -> 5 renames and removals of Neo4j5_0SettingMigrator; a Java field's setting name
    is resolved through the documentation (same description in 4.4 and 5, or the one 5 setting
    sharing the longest dotted suffix), and says how."""
    start = java.find("class Neo4j5_0SettingMigrator")
    body = java[start:]
    end = body.find("public static void migrateGroupSettingPrefixChange(")
    body = body[: end if end > 0 else len(body)]
    rows = []
    removed = re.search(r"REMOVED_SETTINGS = List\.of\((.*?)\);", body, re.S)
    for name in re.findall(r'"([^"]+)"', removed.group(1) if removed else ""):
        rows.append((name, "removed", "", "source", ""))
    for old, new in re.findall(r'new Mapping\(\s*"([^"]+)",\s*"([^"]+)"\)', body):
        rows.append((old, "renamed", new, "source", ""))
    if m := re.search(r'new Mapping\("dbms.config.strict_validation",\s*GraphDatabaseSettings\.(\w+)', body):
        rows.append(("dbms.config.strict_validation", "renamed", "", "field", m.group(1)))
    calls = re.findall(r'migrateSettingNameChange\(\s*values,\s*log,\s*("[^"]+"|\w+),\s*([\w.]+)\)', body)
    variables = dict(re.findall(r'String (\w+) = "([^"]+)";', body))
    for old, field in calls:
        old = old.strip('"') if old.startswith('"') else variables.get(old, "")
        if old:
            rows.append((old, "renamed", "", "field", field.split(".")[-1]))
    for old, new in re.findall(r'migrateGroupSettingPrefixChange\(\s*values,\s*log,\s*"([^"]+)",\s*"([^"]+)"\)', body):
        rows.append((old + ".", "renamed-prefix", new + ".", "source", ""))
    if "OLD_PREFIX = \"dbms.connector\"" in body:
        rows.append(("dbms.connector.", "connector", "server.", "source", ""))
    for other in others:
        for old, field in re.findall(r'migrateSettingNameChange\(\s*values,\s*log,\s*"([^"]+)",\s*(\w+)\)', other):
            rows.append((old, "renamed", "", "field", field))
        for old in re.findall(r'migrateSettingRemoval\(\s*values,\s*log,\s*"([^"]+)"', other):
            rows.append((old, "removed", "", "source", ""))
    resolved = []
    described = {}
    for row in new_rows:
        described.setdefault(row["_description"], []).append(row["name"])
    old_descriptions = {r["name"]: r["_description"] for r in old_rows}
    old_names = set(old_descriptions)
    for old, kind, new, how, field in rows:
        if how == "field":
            new, how = resolve(old, field, old_descriptions, described, new_rows, old_names)
        resolved.append((old, kind, new, how, field))
    by_field = {field: new for _, _, new, how, field in resolved if field and new}
    return [
        (old, kind, *propagated(field, by_field), field) if how == "unresolved" else (old, kind, new, how, field)
        for old, kind, new, how, field in resolved
    ]


# Java fields whose setting names neither the description nor the suffix resolves, named by
# their own sources: `strict_config_validation` is the setting tagroute reads as Neo4j's
# strict validation switch; `windows_service_name` as the 5.x migrate-configuration page's
# example output shows it (tools/neo4j-admin/migrate-configuration.adoc, branch 5.x).
KNOWN_FIELDS = {
    "strict_config_validation": "server.config.strict_validation.enabled",
    "windows_service_name": "server.windows_service_name",
}


def propagated(field, by_field):
    """(new, how) for a field nothing else resolved: another row's name for the same field, or a
    known one."""
    if field in by_field:
        return by_field[field], "field"
    if field in KNOWN_FIELDS:
        return KNOWN_FIELDS[field], "known"
    return "", "unresolved"


def resolve(old, field, old_descriptions, described, new_rows, old_names):
    same = described.get(old_descriptions.get(old, None) or "\0", [])
    if len(same) == 1:
        return same[0], "description"
    old_parts = old.split(".")
    best, best_len = [], 1
    for row in new_rows:
        parts = row["name"].split(".")
        n = 0
        while n < min(len(parts), len(old_parts)) and parts[-1 - n] == old_parts[-1 - n]:
            n += 1
        if row["name"] == old:
            continue
        if n > best_len:
            best, best_len = [row["name"]], n
        elif n == best_len and n > 1:
            best.append(row["name"])
    if len(best) == 1:
        return best[0], "suffix"
    return "", "unresolved"


def renames_2025(page):
    """The `.Renamed configuration settings` table of the 2025.01 breaking changes: settings
    renamed in 2025.01 whose 5.26 names it still accepts."""
    start = page.find(".Renamed configuration settings")
    if start < 0:
        return []
    table = page[start:page.find("|===", page.find("|===", start) + 4)]
    names = re.findall(r"^\|`([a-z0-9_.]+)`\s*$", table, re.M)
    return [{"old": old, "new": new} for old, new in zip(names[::2], names[1::2])]


def write(path, header, rows, columns):
    with open(path, "w", encoding="utf-8") as out:
        for line in header:
            out.write(f"# {line}\n")
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(str(row[c]).replace("\t", " ") for c in columns) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs-operations", required=True)
    parser.add_argument("--neo4j", required=True)
    parser.add_argument("--neo4j-commit", required=True)
    parser.add_argument("--commit", action="append", default=[],
                        help="PATH=SHA: the commit one migrator file was read at, if not --neo4j-commit")
    parser.add_argument("--version", action="append", required=True,
                        help="BRANCH=VERSION, e.g. 5.x=5.26 (repeat)")
    parser.add_argument("--out", default="data/neo4j-settings")
    args = parser.parse_args()
    docs, out = args.docs_operations, pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    old = catalogue(show(docs, "4.4", SETTINGS_PAGE), "4.4")
    commit44 = git(docs, "rev-parse", "4.4").strip()
    write(out / "4.4.tsv", [
        "Neo4j 4.4 settings (names only: to recognise a 4.4 key; the 4.4 reference labels few editions).",
        f"source: neo4j/docs-operations@{commit44} (branch 4.4) {SETTINGS_PAGE}",
        "generated by scripts/neo4j-settings/extract.py; do not edit",
    ], old, ["name", "edition", "replaced_by"])
    newest = []
    for spec in args.version:
        branch, version = spec.split("=", 1)
        commit = git(docs, "rev-parse", branch).strip()
        rows = catalogue(show(docs, branch, SETTINGS_PAGE), version)
        rows += ssl_group(show(docs, branch, SSL_PAGE))
        rows.sort(key=lambda r: r["name"])
        write(out / f"{version}.tsv", [
            f"Neo4j {version} settings.",
            f"source: neo4j/docs-operations@{commit} (branch {branch}) {SETTINGS_PAGE}",
            f"source: neo4j/docs-operations@{commit} (branch {branch}) {SSL_PAGE} (dbms.ssl.policy.<scope>.*)",
            "generated by scripts/neo4j-settings/extract.py; do not edit",
        ], rows, COLUMNS)
        newest = rows if not newest else newest
        typed = sum(1 for r in rows if r["type"] not in ("string", "list:string", "set:string", "secure-string", "unknown"))
        print(f"{version}: {len(rows)} settings, {typed} with a typed validator", file=sys.stderr)
    calendar = args.version[-1].split("=", 1)[0]
    commit = git(docs, "rev-parse", calendar).strip()
    write(out / "renamed-2025.01.tsv", [
        "Settings Neo4j 2025.01 renamed and still accepts under their 5.26 names (calendar versions).",
        f"source: neo4j/docs-operations@{commit} (branch {calendar}) {BREAKING_PAGE}",
        "generated by scripts/neo4j-settings/extract.py; do not edit",
    ], renames_2025(show(docs, calendar, BREAKING_PAGE)), ["old", "new"])
    commits = dict(c.split("=", 1) for c in args.commit)
    java = [(pathlib.Path(args.neo4j) / path).read_text(encoding="utf-8") for path in MIGRATOR_FILES]
    rows = migrations(java[0], java[1:], old, newest)
    write(out / "migrations.tsv", [
        "Neo4j 4.4 -> 5 setting migrations (Neo4j 5's public migrators, as Neo4j applies them when it starts).",
        *(f"source: neo4j/neo4j@{commits.get(path, args.neo4j_commit)} {path}" for path in MIGRATOR_FILES),
        f"how: source = named in the migrator; description = the migrator names a Java field, whose",
        f"  setting has the 4.4 setting's description in the {args.version[0].split('=')[1]} reference; suffix = the one",
        "  setting sharing the longest dotted suffix; field = another row's name for the same field;",
        "  known = extract.py's KNOWN_FIELDS; unresolved = none of these",
        "generated by scripts/neo4j-settings/extract.py; do not edit",
    ], [dict(zip(["old", "kind", "new", "how", "field"], r)) for r in rows],
        ["old", "kind", "new", "how", "field"])
    unresolved = [r[0] for r in rows if r[3] == "unresolved"]
    print(f"migrations: {len(rows)} rows, {len(unresolved)} unresolved: {unresolved}", file=sys.stderr)


if __name__ == "__main__":
    main()
