#!/usr/bin/env python3
"""link-graph.py - the link-level dependency graph of the host objects: which file uses which other file's symbols.

Usage: scripts/link-graph.py BUILD/obj [--order a,b,c/d,...] [--layers FILE]

Reads every object under BUILD/obj/src with `nm`, joins each undefined symbol
to the object that defines it, and prints:
  - the folder graph (src/<folder> -> src/<folder>, with the symbols that make
    each edge),
  - every cycle of files (strongly connected component) of more than two files,
  - with --order (or --layers FILE: one folder per line, lowest first, '#'
    comments), every edge that goes upward in that order: a folder may use
    only folders listed before it. A folder is a file's directory under src/,
    so src/vm/kvm/x.c is in folder "vm/kvm".
    A layers line may add the word `private` after the folder: then no other
    folder may use it at all (a backend behind an interface, reached only
    through what it registers), and every such edge is reported.
Only objects whose source (src/PATH.{c,S,cpp}) still exists are read, so an
object left behind by a moved file cannot invent an edge.
Exits 1 when an order is given and an upward edge, a folder missing from the
order or a cycle of more than two files exists (tests/layers runs it).
Why from the objects and not the #includes: a header can declare another
file's function, which hides the real dependency from the include graph.
"""
import os
import subprocess
import sys
from collections import defaultdict


def objects(root, srcroot):
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".o"):
                continue
            rel = os.path.relpath(os.path.join(d, f), root)[:-2]
            if srcroot is None or any(os.path.exists(os.path.join(srcroot, rel + e))
                                      for e in (".c", ".S", ".cpp")):
                yield os.path.join(d, f)


def folder(name):
    return os.path.dirname(name) or "."


def read_layers(path):
    """The order of folders, and the set of those marked `private`."""
    out, private = [], set()
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words:
                out.append(words[0])
                if "private" in words[1:]:
                    private.add(words[0])
    return out, private


def nm(path, undefined):
    args = ["nm", "-u" if undefined else "--defined-only", path]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if undefined and len(parts) == 2:
            syms.add(parts[1])
        elif not undefined and len(parts) == 3 and parts[1] in "TDBRVW":
            syms.add(parts[2])
    return syms


def sccs(nodes, edges):
    """Tarjan's algorithm, iterative; returns the list of components."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = os.path.join(sys.argv[1], "src")
    srcroot = "src"
    if "--src" in sys.argv:
        srcroot = sys.argv[sys.argv.index("--src") + 1]
    if srcroot == "-":
        srcroot = None
    order, private = None, set()
    if "--order" in sys.argv:
        order = sys.argv[sys.argv.index("--order") + 1].split(",")
    if "--layers" in sys.argv:
        order, private = read_layers(sys.argv[sys.argv.index("--layers") + 1])
    defs, uses = {}, {}
    for o in objects(root, srcroot):
        name = os.path.relpath(o, root)[:-2]
        uses[name] = nm(o, True)
        for s in nm(o, False):
            defs[s] = name
    edges = defaultdict(set)
    filesym = {}
    why = defaultdict(set)
    for f, syms in uses.items():
        for s in syms:
            t = defs.get(s)
            if t and t != f:
                edges[f].add(t)
                filesym.setdefault((f, t), s)
                why[(folder(f), folder(t))].add(f"{f} -> {t} ({s})")
    bad = 0
    print("folder edges:")
    for (a, b), w in sorted(why.items()):
        if a != b:
            print(f"  {a} -> {b}: {len(w)} uses")
    for comp in sccs(sorted(uses), edges):
        if len(comp) > 2:
            bad += 1
            print(f"cycle of {len(comp)} files: {' '.join(comp)}")
            for f in comp:
                for t in sorted(edges[f] & set(comp)):
                    print(f"  {f} -> {t} ({filesym[(f, t)]})")
    if order:
        rank = {f: i for i, f in enumerate(order)}
        for (a, b), w in sorted(why.items()):
            if a == b:
                continue
            if a not in rank or b not in rank or rank[b] >= rank[a]:
                bad += 1
                print(f"upward edge {a} -> {b}: " + "; ".join(sorted(w)[:3]))
            elif b in private:
                bad += 1
                print(f"private folder used {a} -> {b}: " + "; ".join(sorted(w)[:3]))
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
