#!/usr/bin/env python3
"""Lists the import cycles between the source files of src/ (a module that uses an item of a
module which uses one of its own back). Paths in `use` lines and inline `crate::`/`super::`/
`self::` paths are resolved to files; a path into a module's re-export (`pub use`) counts as
importing the module that re-exports it. Exit status 1 if a cycle exists.

    python3 tools/module_cycles.py
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(__file__), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return []
    return rel


files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files[tuple(module_of(p))] = p
# the binary's modules live under main.rs, whose crate root is separate from lib.rs
binary = {m for m in files if m and m[0] == "cli"}


def resolve(current, parts):
    """The longest known module prefix of a path written in module `current`."""
    if not parts:
        return None
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    elif parts[0] == "camlens":
        base, rest = [], parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(current)
        is_dir = files.get(tuple(current), "").endswith("mod.rs") or not current
        rest = parts
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
        del is_dir
    else:
        return None
    best = None
    for i in range(len(rest) + 1):
        cand = tuple(base + rest[:i])
        if cand in files:
            best = cand
    return best


edges = {}
for mod, path in files.items():
    text = open(path).read()
    # drop test modules: they may use anything
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    targets = set()
    for m in re.finditer(r"\b((?:crate|super|self|camlens)(?:::\w+)+)", text):
        parts = m.group(1).split("::")
        t = resolve(list(mod), parts)
        if t is not None and t != mod:
            targets.add(t)
    for m in re.finditer(r"\buse\s+((?:crate|super|self|camlens)::[^;]*);", text, re.S):
        body = m.group(1)
        head, _, brace = body.partition("{")
        parts = [p for p in head.strip().rstrip(":").split("::") if p]
        names = [n.strip().split(" ")[0] for n in brace.rstrip("}").split(",") if n.strip()] or [""]
        for n in names:
            sub = [x for x in n.split("::") if x and x != "self"]
            t = resolve(list(mod), parts + sub)
            if t is not None and t != mod:
                targets.add(t)
    edges[mod] = targets

cycles = []
for a, ts in edges.items():
    for b in ts:
        # a parent declaring its children (mod x;) is not an import; re-exports are
        if a in edges.get(b, set()) and a < b:
            cycles.append((a, b))
for a, b in sorted(cycles):
    print(f"{'/'.join(a) or 'lib'} <-> {'/'.join(b) or 'lib'}")
print(f"{len(files)} files, {sum(len(t) for t in edges.values())} imports, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
