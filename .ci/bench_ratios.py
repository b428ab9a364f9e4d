"""Prints the ratios of the criterion benchmarks that CI runs, from criterion's estimates (mean,
nanoseconds), against DESIGN section 11's targets: VM vs the fastest ideal kernel of this CPU
(every `ideal-<kernel>` function: avx512, avx2, scalar, each with its one-word path; the scalar
one beside it), the fixedbitset and roaring peers vs the VM, the cached router decision vs the
memoised floor, and the slope of parse + lint + compile + verify over the policy's size. Prints
the CPU and its flags the figures depend on first. Reports misses; fails only when estimates are
missing (timing on shared machines is noisy)."""

import json
import math
import pathlib
import sys


def mean_ns(root: pathlib.Path, group: str, function: str):
    path = root / group / function / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["mean"]["point_estimate"]


def best_ideal(root: pathlib.Path, group: str):
    """The fastest `ideal-<kernel>` function of the group: (kernel, mean)."""
    timed = [
        (mean_ns(root, group, path.name), path.name.removeprefix("ideal-"))
        for path in sorted((root / group).glob("ideal-*"))
    ]
    timed = [(ns, kernel) for ns, kernel in timed if ns is not None]
    if not timed:
        return None, None
    ns, kernel = min(timed)
    return kernel, ns


def cpu() -> str:
    """The CPU's model and the flags the kernels use, from /proc/cpuinfo."""
    try:
        info = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return "cpu: unknown"
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    wanted = ["popcnt", "bmi2", "avx2", "avx512f", "avx512_vpopcntdq"]
    return f"cpu: {model}; flags: {' '.join(f for f in wanted if f in flags)}"


def evaluation(root: pathlib.Path, servers: int) -> bool:
    group = f"eval_{servers}"
    kernel, best = best_ideal(root, group)
    vm, scalar, fixed, roaring, ref = (
        mean_ns(root, group, f) for f in ("vm", "ideal-scalar", "fixedbitset", "roaring", "reference")
    )
    if None in (best, vm, scalar, fixed, roaring, ref):
        print(f"{servers:>5} servers: some evaluation estimates are missing")
        return False
    target = 1.2 if servers >= 8192 else 1.5
    verdict = "met" if vm / best <= target else f"MISSED (target {target})"
    print(
        f"{servers:>5} servers: vm {vm:7.2f} ns | best ideal ({kernel}) {best:7.2f} ns, "
        f"vm/best {vm / best:5.2f} {verdict} | scalar ideal {scalar:7.2f} ns, vm/scalar "
        f"{vm / scalar:5.2f} | fixedbitset/vm {fixed / vm:5.2f}"
        f"{'' if fixed / vm >= 4 else ' MISSED (target 4)'} | roaring/vm {roaring / vm:6.1f} | "
        f"reference/vm {ref / vm:8.0f}"
    )
    return True


def decision(root: pathlib.Path, servers: int) -> bool:
    group = f"decide_{servers}"
    router, floor, ideal = (mean_ns(root, group, f) for f in ("router", "memo-floor", "ideal"))
    if None in (router, floor, ideal):
        print(f"{servers:>5} servers: some decision estimates are missing")
        return False
    verdict = "met" if router / floor <= 1.5 else "MISSED (target 1.5)"
    print(
        f"{servers:>5} servers: router {router:6.2f} ns | memo floor {floor:6.2f} ns, "
        f"router/floor {router / floor:5.2f} {verdict} | ideal decision {ideal:7.2f} ns"
    )
    return True


def compile_slope(root: pathlib.Path) -> bool:
    group = next((p.name for p in root.glob("parse*lint*compile*verify")), None)
    if group is None:
        print("compile: estimates are missing")
        return False
    sizes = (10, 1000, 100000)
    times = [mean_ns(root, group, str(n)) for n in sizes]
    if None in times:
        print("compile: some estimates are missing")
        return False
    per_rule = ", ".join(f"{n} rules {t / 1e6:8.3f} ms ({t / n:6.0f} ns/rule)" for n, t in zip(sizes, times))
    slope = math.log(times[2] / times[1]) / math.log(sizes[2] / sizes[1])
    print(f"compile: {per_rule}; slope 1,000 -> 100,000 rules: {slope:.2f} (1.00 is linear)")
    return True


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    print(cpu())
    ok = True
    for servers in (64, 1024):
        ok &= evaluation(root, servers)
        ok &= decision(root, servers)
    ok &= compile_slope(root)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
