#!/usr/bin/python3
"""The layering table (Makefile, INC.<folder>) checked on the sources.

Usage: check_layering.py FOLDER=DIR,DIR,... ...  (one argument per folder;
`make check-layering` passes the table). For every .c and .h file of a listed
folder, each #include that names a file of this project must resolve to the
file's own folder or to one of the folders the table allows it; an include
that resolves nowhere in the project is a system header and is not checked.
The compiler already refuses a header outside the -I paths; this also catches
relative paths ("../api/x.h"), <...> includes of project headers and headers
reached through the including file's own folder, and says which rule a file
breaks. Exit 1 with one line per offending include."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def project_folders(root):
    found = set()
    for top in ("include", "compiler", "runtime", "cli"):
        for d, _, files in os.walk(os.path.join(root, top)):
            if any(f.endswith(".h") for f in files):
                found.add(os.path.relpath(d, root))
    return found


def resolve(root, folder, allowed, quote, name, folders):
    """The project folder the include resolves to, or None for a system header."""
    search = ([folder] if quote == '"' else []) + allowed
    for d in search:
        path = os.path.normpath(os.path.join(root, d, name))
        if os.path.isfile(path):
            return os.path.relpath(os.path.dirname(path), root)
    for d in sorted(folders):  # a project header the search path does not reach
        path = os.path.normpath(os.path.join(root, d, name))
        if os.path.isfile(path):
            return os.path.relpath(os.path.dirname(path), root)
    return None


def main(argv):
    root = os.getcwd()
    table = {}
    for arg in argv:
        folder, _, dirs = arg.partition("=")
        table[folder] = [d for d in dirs.split(",") if d]
    folders = project_folders(root)
    bad = []
    for folder, allowed in sorted(table.items()):
        for f in sorted(os.listdir(os.path.join(root, folder))):
            if not f.endswith((".c", ".h")):
                continue
            src = os.path.join(folder, f)
            with open(os.path.join(root, src), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for quote, name in INCLUDE.findall(text):
                shown = f"{quote}{name}{'>' if quote == '<' else quote}"
                where = resolve(root, folder, allowed, quote, name, folders)
                if where is None or where == folder or where in allowed:
                    if where is not None and ".." in name.split("/"):
                        bad.append(f"{src}: #include {shown}: a relative path out of the folder")
                    continue
                bad.append(f"{src}: #include {shown} is in {where}/, which INC.{folder} does not allow "
                           f"(allowed: {' '.join(allowed) or 'nothing'}; Makefile, docs/architecture.md 'Layering')")
    missing = sorted(d for d in folders if d not in table and d != "include")
    for d in missing:
        bad.append(f"{d}/: no INC.{d} line in the Makefile's layering table")
    for line in bad:
        print("layering: " + line, file=sys.stderr)
    if not bad:
        print(f"layering: {len(table)} folders follow the table")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
