# Counts the instructions of one iteration of a benchmark's loop by single-stepping it under gdb:
# what callgrind gives for the AVX2 kernels, for the kernels this CPU runs (valgrind hides
# AVX-512 from the program; gdb does not). Stops at the third call of FUNC, steps until the
# program counter comes back to it and writes each instruction (its function, its text) and the
# count to OUT. An iteration that runs into the harness's bookkeeping (more than 3,000
# instructions) is skipped for the next one.
#
#   gdb -q -batch -ex "python OUT='/tmp/vm-1024.txt'; FUNC='tagroute::vm::run_words'" \
#       -ex "source scripts/stepi_count.py" \
#       --args target/release/deps/vm-HASH --bench --profile-time 100 'eval/1024/vm$'
#
# FUNC: `tagroute::vm::run_words` for the VM on more than one word (`tagroute::vm::one_word` on
# one), `tagroute::bench_support::ideal::x86::eval_avx512` for the AVX-512 ideal.
import gdb

LIMIT = 3000

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("break " + FUNC)
gdb.execute("run")
gdb.execute("continue 3")
for attempt in range(20):
    start = int(gdb.parse_and_eval("$pc"))
    lines = []
    while len(lines) < LIMIT:
        pc = int(gdb.parse_and_eval("$pc"))
        if lines and pc == start:
            break
        frame = gdb.selected_frame()
        insn = frame.architecture().disassemble(pc)[0]
        lines.append(f"{frame.name()}\t{insn['asm']}")
        gdb.execute("stepi", to_string=True)
    if len(lines) < LIMIT:
        break
    gdb.execute("continue")
with open(OUT, "w") as f:
    f.write("\n".join(lines))
    f.write(f"\ntotal {len(lines)}\n")
gdb.execute("kill")
gdb.execute("quit")
