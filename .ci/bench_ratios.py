"""Prints the ratios of the criterion benchmarks that CI runs: VM vs reference, VM vs ideal,
router vs ideal decision, from criterion's estimates (mean, nanoseconds)."""

import json
import pathlib
import sys


def mean_ns(root: pathlib.Path, group: str, function: str):
    path = root / group / function / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["mean"]["point_estimate"]


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    missing = False
    for servers in (64, 1024):
        vm, ideal, ref = (mean_ns(root, f"eval_{servers}", f) for f in ("vm", "ideal", "reference"))
        router, decision = (mean_ns(root, f"decide_{servers}", f) for f in ("router", "ideal"))
        if None in (vm, ideal, ref, router, decision):
            print(f"{servers} servers: some estimates are missing")
            missing = True
            continue
        print(
            f"{servers:>5} servers: vm {vm:8.2f} ns, ideal {ideal:8.2f} ns, reference {ref:12.0f} ns | "
            f"vm/ideal {vm / ideal:5.2f}  reference/vm {ref / vm:8.0f}  "
            f"router {router:6.2f} ns, router/ideal decision {router / decision:5.2f}"
        )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
