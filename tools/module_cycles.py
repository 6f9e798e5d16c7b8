#!/usr/bin/env python3
"""Checks that each crate's module graph has no cycle (run by .ci/run; standard library only).

The nodes are sibling modules: the top-level modules of a crate, and inside each module folder
its child modules. There is an edge from A to B when code anywhere under A names something
under B: a `use crate::…`/`use super::…` tree, or an inline `crate::b::…` path. A name a parent
re-exports from a child (`pub use dense::Dense` in `layers/mod.rs`, `pub use error::Error` in
`lib.rs`) counts as that child. The parent file itself (`lib.rs`, `mod.rs`) is not a node: it
declares and re-exports its children. Edges to the parent's own items are not sibling edges.

Usage: tools/module_cycles.py CRATE_SRC... (e.g. nn-core/src nn-macros/src); exit 1 on a cycle,
printing
the modules of each cycle.
"""

import os
import re
import sys


def module_path(src, path):
    """`io/keras.rs` -> ('io', 'keras'); `io/mod.rs` -> ('io',); `lib.rs` -> ()."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments(text):
    """The code without comments and with every string and char literal emptied (they may hold
    `crate::` or `//`), scanned left to right so that each kind of token hides the others."""
    out, i, n = [], 0, len(text)
    while i < n:
        c, nxt = text[i], text[i + 1 : i + 2]
        if c == "/" and nxt == "/":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "/" and nxt == "*":
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif c == "r" and re.match(r'r#*"', text[i:]) and not re.match(r"\w", text[i - 1 : i] or " "):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def use_tree(tree):
    """Expands `a::{b::{c, d}, e}` into ['a::b::c', 'a::b::d', 'a::e']."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"\bas\w+$", "", tree)] if tree else []
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        depth += c == "{"
        depth -= c == "}"
        if c == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    out = []
    for part in parts:
        for tail in use_tree(part):
            out.append(prefix + tail if tail != "self" else prefix.rstrip(":"))
    return out


def references(text):
    """Every path a file names through `crate::`, `super::` or `self::`."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths += use_tree(m.group(1))
    text = re.sub(r"\buse\s+[^;]+;", "", text)
    paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", text)
    return [p for p in paths if p.split("::")[0] in ("crate", "super", "self")]


def resolve(module, path):
    """The absolute module path (a tuple) a `crate::`/`super::`/`self::` path names."""
    parts = path.split("::")
    if parts[0] == "crate":
        return tuple(parts[1:])
    base = list(module)
    while parts and parts[0] in ("super", "self"):
        if parts.pop(0) == "super":
            base = base[:-1]
    return tuple(base + parts)


def check(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                path = os.path.join(root, n)
                with open(path, encoding="utf-8") as f:
                    files[module_path(src, path)] = strip_comments(f.read())
    modules = set(files)
    for m in list(modules):
        for i in range(len(m)):
            modules.add(m[:i])
    # Re-exports: (parent, name) -> child, from `pub use child::…name` in the parent's file.
    reexports = {}
    for module, text in files.items():
        for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
            for p in use_tree(m.group(1)):
                parts = p.split("::")
                if parts[0] in ("crate", "super", "self"):
                    target = resolve(module, p)
                else:
                    target = module + tuple(parts)
                if len(target) > len(module) and target[: len(module)] == module:
                    reexports[(module, parts[-1])] = target[len(module)]

    def target_module(target):
        """The module (tuple) that `target` names: its longest prefix that is a module, or
        through a parent's re-export the child the name comes from."""
        for n in range(len(target), -1, -1):
            head = target[:n]
            if head in modules:
                rest = target[n:]
                if rest and (head, rest[0]) in reexports:
                    return head + (reexports[(head, rest[0])],)
                return head
        return ()

    edges = {}
    for module, text in files.items():
        for ref in references(text):
            target = target_module(resolve(module, ref))
            # The sibling pair: the first place the two paths part under a common parent.
            common = 0
            while (
                common < min(len(module), len(target))
                and module[common] == target[common]
            ):
                common += 1
            if common >= len(module) or common >= len(target):
                continue  # a parent and its descendant: not siblings
            parent = module[:common]
            a, b = module[common], target[common]
            edges.setdefault(parent, {}).setdefault(a, set()).add(b)

    cycles = []
    for parent, graph in sorted(edges.items()):
        cycle = find_cycle(graph)
        if cycle:
            where = "::".join(("crate",) + parent)
            cycles.append(f"{src}: in {where}: " + "; ".join(cycle))
    return cycles


def find_cycle(graph):
    """The modules of every cycle in `graph` (node -> set of nodes): each strongly connected
    component of more than one node, sorted, as one list; None when there is none."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append("{" + ", ".join(sorted(component)) + "}")

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found or None


def main():
    cycles = []
    for src in sys.argv[1:]:
        cycles += check(src)
    for c in cycles:
        print("module cycle:", c)
    if cycles:
        sys.exit(1)
    print("no module cycles in", " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
