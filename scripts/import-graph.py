#!/usr/bin/env python3
"""The module graph of a crate's src/ from its `crate::` and `super::` paths (use lines, inline paths and doc
links; unit tests excluded). Prints each module's edges and the cycles, if any: per module (a file; a module's
edges to its own parent or children, which Rust's `mod.rs` re-exports make mutual, are left out) and per
top-level module (a folder counts as one, except for a leaf file that uses no crate module).

    scripts/import-graph.py CRATE_SRC            the graph and its cycles
    scripts/import-graph.py --check SRC...       only says which crates have cycles; exits 1 if any has

The import picture of every crate is a tree (ARCHITECTURE.md); scripts/test.sh checks it with --check."""
import os, re, sys
if sys.argv[1:2] == ['--check']:
    import subprocess
    bad = []
    for src in sys.argv[2:]:
        out = subprocess.run([sys.executable, __file__, src], capture_output=True, text=True, check=True).stdout
        found = [l for l in out.splitlines() if 'cycles:' in l and not l.endswith(': none')]
        bad += [f'{src}: {l}' for l in found]
    print('\n'.join(bad) or 'import graphs: no cycles')
    sys.exit(1 if bad else 0)
root = sys.argv[1]
def name(path):
    parts = os.path.relpath(path, root)[:-3].split('/')
    if parts[-1] in ('mod', 'main', 'lib'): parts = parts[:-1]
    return '::'.join(parts)
files = {name(os.path.join(d, f)): os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.rs')}
def parent(m): return m.rsplit('::', 1)[0] if '::' in m else ''
def resolve(path):
    parts = [p for p in path.split('::') if p]
    for n in range(len(parts), 0, -1):
        if '::'.join(parts[:n]) in files: return '::'.join(parts[:n])
    return ''
edges = {}
for m, f in files.items():
    text = open(f).read().split('#[cfg(test)]')[0]
    deps = {resolve(t) for t in re.findall(r'crate::((?:[a-z_][a-z0-9_]*::?)*[a-z_][a-z0-9_]*)', text)}
    for group in re.findall(r'\bsuper::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)', text):
        for item in re.findall(r'[A-Za-z_][A-Za-z0-9_]*', group):
            deps.add(resolve('::'.join(filter(None, [parent(m), item]))) or parent(m))
    edges[m] = {d for d in deps if d and d != m and parent(d) != m and parent(m) != d}
def cycles(g):
    out, state = [], {}
    def visit(n, stack):
        state[n] = 1; stack.append(n)
        for d in sorted(g.get(n, ())):
            if state.get(d) == 1: out.append(' -> '.join(stack[stack.index(d):] + [d]))
            elif d not in state: visit(d, stack)
        stack.pop(); state[n] = 2
    for n in sorted(g):
        if n not in state: visit(n, [])
    return out or ['none']
print('modules (a module -> the crate modules it uses):')
for m in sorted(edges): print(f'  {m or "main":18} -> {", ".join(sorted(edges[m])) or "-"}')
print('module cycles:', '; '.join(cycles(edges)))
leaf = {m for m in edges if '::' in m and not edges[m]}
unit = lambda m: m if m in leaf else m.split('::')[0]
top = {}
for m, ds in edges.items():
    top.setdefault(unit(m), set()).update(unit(d) for d in ds if unit(d) != unit(m))
print('top-level (leaf files apart):')
for m in sorted(top): print(f'  {m or "main":18} -> {", ".join(sorted(top[m])) or "-"}')
print('top-level cycles:', '; '.join(cycles(top)))
