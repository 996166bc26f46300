#!/usr/bin/python3
"""Compares what two ntkc binaries emit, byte for byte: the proof that a
refactoring of the emitters or the lowering changes no emitted C.

usage: scripts/emit_diff.py BASE_NTKC NEW_NTKC [--count TEXT ...] [--lifted TEXT] [DIR_OR_FILE ...]

For every source (every file under the given folders: .ntk files, the fuzz
corpora's inputs, which have no extension, and the nets the tests' C files
write as string literals: each run of adjacent literals holding "net " and
"input", written out to a temporary file), every net named in it (the
default net when none is), in both precisions, it runs `ntkc emit SRC [--net NAME]
--precision P -o OUT.c -H OUT.h` with each binary and compares the exit
code, the messages and both outputs. The emitted C does not depend on the
back end (libtcc or cc compile the same text; only NTKC_HOST_PRIMITIVES,
defined by the libtcc back end at compile time, differs), so one emission
per precision covers both. Prints the counts; exit 1 on any difference.
--count TEXT: also count the emitted files that contain TEXT (that the
comparison reached the code a change touched: a comment the emitter writes).
--lifted TEXT: a net the base refuses with a message containing TEXT and the
new binary emits is a refusal the change lifted on purpose: counted apart,
not as a difference.
Default folders: examples tests fuzz/corpus/frontend.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

NET_NAME = re.compile(rb"\bnet\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{")
SOURCE_DIRS_WITHOUT_EXT = ("corpus", "fuzz")  # fuzzer inputs are raw files


def sources(roots, tmp):
    for root in roots:
        if os.path.isfile(root):
            yield root
            continue
        for d, _, files in os.walk(root):
            raw = any(part in SOURCE_DIRS_WITHOUT_EXT for part in d.split(os.sep))
            for f in sorted(files):
                if f.endswith(".ntk") or (raw and "." not in f):
                    yield os.path.join(d, f)
                elif f.endswith(".c"):
                    for k, net in enumerate(nets_in_c(os.path.join(d, f))):
                        out = os.path.join(tmp, f"{f[:-2]}_{k}.ntk")
                        open(out, "wb").write(net)
                        yield out


C_STRING = re.compile(rb'"((?:[^"\\\n]|\\.)*)"')
C_BETWEEN = re.compile(rb"^\s*$")  # literals joined by white space only (line breaks included)


def c_unescape(b):
    return b.decode("unicode_escape", errors="replace").encode("utf-8", errors="replace")


def nets_in_c(path):
    """The nets a C file writes as runs of adjacent string literals."""
    text = open(path, "rb").read()
    runs, run, last_end = [], [], None
    for m in C_STRING.finditer(text):
        if run and not C_BETWEEN.match(text[last_end:m.start()]):
            runs.append(b"".join(run))
            run = []
        run.append(c_unescape(m.group(1)))
        last_end = m.end()
    if run:
        runs.append(b"".join(run))
    return [r for r in runs if b"net " in r and b"input" in r]


def emit(binary, src, net, precision, out_dir):
    c, h = os.path.join(out_dir, "out.c"), os.path.join(out_dir, "out.h")
    for p in (c, h):
        if os.path.exists(p):
            os.remove(p)
    cmd = [binary, "emit", src, "--precision", precision, "-o", c, "-H", h]
    if net is not None:
        cmd += ["--net", net]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    outs = []
    for p in (c, h):
        outs.append(open(p, "rb").read() if os.path.exists(p) else None)
    return r.returncode, r.stdout, r.stderr, outs


def compare(job):
    base, new, src, net, precision = job
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        ra, rb = emit(base, src, net, precision, a), emit(new, src, net, precision, b)
    return job, ra, rb


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    base, new = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    args, counts, lifted_text = sys.argv[3:], {}, None
    while len(args) >= 2 and args[0] in ("--count", "--lifted"):
        if args[0] == "--count":
            counts[args[1]] = 0
        else:
            lifted_text = args[1].encode()
        args = args[2:]
    roots = args or ["examples", "tests", "fuzz/corpus/frontend"]
    jobs = []
    files = 0
    tmp = tempfile.mkdtemp(prefix="emit_diff_")
    for src in sources(roots, tmp):
        files += 1
        text = open(src, "rb").read()
        names = sorted(set(m.decode() for m in NET_NAME.findall(text)))
        for net in names or [None]:  # the default net is one of those named
            for precision in ("double", "single"):
                jobs.append((base, new, src, net, precision))
    emitted = refused = diffs = lifted = 0
    nets = set()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (b, n, src, net, precision), ra, rb in pool.map(compare, jobs):
            ok, same, c_text = ra[0] == 0, ra == rb, ra[3][0] or b""
            for text in counts:
                counts[text] += text.encode() in c_text
            if not same and lifted_text and not ok and rb[0] == 0 and lifted_text in ra[2]:
                lifted += 1
                print(f"lifted: {src} net {net or '(default)'} precision {precision}")
                continue
            done = emitted + refused + diffs + lifted
            if done % 200 == 0:
                print(f"... {done} of {len(jobs)} compared, {diffs} differences", flush=True)
            if not same:
                diffs += 1
                what = ("emitted C" if ok and rb[0] == 0 else "message only" if ra[0] == rb[0] and ra[3] == rb[3]
                        else "status")
                print(f"DIFFERENT ({what}): {src} net {net or '(default)'} precision {precision}")
            if ok:
                emitted += 1
                nets.add((src, net))
            else:
                refused += 1
    print(f"{files} source files, {len(jobs)} emissions compared ({emitted} emitted C, {refused} refused alike "
          f"or not), {len(nets)} (file, net) pairs emitted; {diffs} differences"
          + (f", {lifted} refusals lifted (base: '{lifted_text.decode()}')" if lifted_text else ""))
    shutil.rmtree(tmp)
    for text, k in counts.items():
        print(f"  {k} emitted files contain '{text}'")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
