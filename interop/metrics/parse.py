"""Reads `tagroute serve`'s two metric expositions with prometheus_client's own parsers.

Usage: parse.py CLASSIC_FILE OPENMETRICS_FILE. Prints one JSON object:
{"classic": FAMILIES, "openmetrics": FAMILIES}, FAMILIES being {name: {"type": ...,
"samples": {"name{label=\"value\",...}": value}}} with labels sorted. A parser that rejects its
input fails the run.
"""

import json
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as classic_families


def families(parse, text):
    out = {}
    for family in parse(text):
        samples = {}
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
        out[family.name] = {"type": family.type, "samples": samples}
    return out


def main(classic_file, openmetrics_file):
    with open(classic_file, encoding="utf-8") as classic, open(
        openmetrics_file, encoding="utf-8"
    ) as openmetrics:
        parsed = {
            "classic": families(classic_families, classic.read()),
            "openmetrics": families(openmetrics_families, openmetrics.read()),
        }
    json.dump(parsed, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:3])
