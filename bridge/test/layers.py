#!/usr/bin/env python3
"""The bridge's layering, checked: every file of bridge/src uses only files of
its own layer or the layers below (by #include of the project's headers and by
calls to functions defined in other files), and no two files use each other,
directly or through others (the graph is a DAG).  Prints the graph and exits 1
on a violation.

    bridge/test/layers.py [SRC_DIR]

The layers are docs/architecture.md's module map; a new file must be given a
layer here, or the check fails."""
import os
import re
import sys

LAYERS = {
    0: ["util", "log", "event", "pgwire", "latency", "options", "config", "metrics",
        "msglist", "park", "ledger", "secure", "trace", "spanq", "fanout"],
    1: ["lifecycle", "db", "pipeline", "http", "mock", "tracer", "zipkin"],
    2: ["producer", "consumer", "offsets"],
    3: ["outbox", "batch"],
    4: ["applier", "lanes", "loop"],
    5: ["main"],
}
# Private headers shared by two files of one module.
PRIVATE = {"db_int": "db", "consumer_int": "consumer"}

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
layer_of = {m: n for n, ms in LAYERS.items() for m in ms}
files = sorted(f[:-2] for f in os.listdir(src) if f.endswith(".c"))
problems = []

for f in files:
    if f not in layer_of:
        problems.append(f"{f}.c has no layer in bridge/test/layers.py")


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


# Who defines each function: pgindent style puts the name at the start of
# the line after the return type.
defined = {}
texts = {}
for f in files:
    text = strip(open(os.path.join(src, f + ".c")).read())
    texts[f] = text
    for m in re.finditer(r"^([a-z_][a-z0-9_]*)\(", text, re.M):
        defined.setdefault(m.group(1), f)

edges = {f: set() for f in files}
why = {}
for f in files:
    text = open(os.path.join(src, f + ".c")).read()
    for h in re.findall(r'^#include "([a-z_]+)\.h"', text, re.M):
        owner = PRIVATE.get(h, h)
        if owner != f and owner in layer_of:
            edges[f].add(owner)
            why.setdefault((f, owner), f'#include "{h}.h"')
    for name in set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", texts[f])):
        owner = defined.get(name)
        if owner and owner != f:
            edges[f].add(owner)
            why.setdefault((f, owner), f"calls {name}()")

for f in files:
    for g in sorted(edges[f]):
        if f in layer_of and g in layer_of and layer_of[g] > layer_of[f]:
            problems.append(f"{f}.c (layer {layer_of[f]}) uses {g}.c (layer {layer_of[g]}): "
                            f"{why[(f, g)]}")

# Cycles (Tarjan's strongly connected components).
index, low, stack, on, sccs = {}, {}, [], set(), []


def strong(v, counter=[0]):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for f in files:
    if f not in index:
        strong(f)
for c in sccs:
    problems.append("cycle: " + " <-> ".join(c))

for n in sorted(LAYERS):
    for f in LAYERS[n]:
        if f in edges:
            print(f"layer {n}  {f + '.c':<12} uses {', '.join(sorted(edges[f])) or '-'}")
sizes = {f: sum(1 for _ in open(os.path.join(src, f + ".c"))) for f in files}
big = max(sizes, key=sizes.get)
print(f"layers: {len(files)} files, {sum(len(e) for e in edges.values())} dependencies, "
      f"{len(sccs)} cycles, largest {big}.c ({sizes[big]} lines)")
for p in problems:
    print("layers: " + p)
sys.exit(1 if problems else 0)
