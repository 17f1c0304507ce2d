"""The package's layers, read from the source: no import cycle, no import of kmeanslab's own
modules inside a function, and every module importing only from its own layer or below.

Layers, bottom to top (a module's layer is the first name under ``kmeanslab``)::

    errors, _version < validation, io < _kernels < _core < scale < cluster
        < datasets < metrics < experiments < text < cli < the package __init__

Optional extras (dask, distributed, pyarrow, tokenizers, safetensors, the MiniLM model) may be
imported inside functions; kmeanslab's own modules may not. A known violation in a folder that
is being reworked is listed in ``ALLOWED`` with its reason, so that it is reported precisely and
can be deleted once fixed: an allowance that no longer matches anything fails the test too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import kmeanslab

PACKAGE = Path(kmeanslab.__file__).resolve().parent
ROOT = "kmeanslab"

LAYERS: list[tuple[str, ...]] = [
    ("errors", "_version"),
    ("validation", "io"),
    ("_kernels",),
    ("_core",),
    ("scale",),
    ("cluster",),
    ("datasets",),
    ("metrics",),
    ("experiments",),
    ("text",),
    ("course",),  # the course demo: content over experiments and text
    ("cli", "__main__"),
    ("",),  # the package __init__: it only re-exports
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}

# (kind, importer, imported) -> why it is allowed for now. Kinds: "inside a function",
# "upward", "dynamic".
ALLOWED: dict[tuple[str, str, str], str] = {
    ("dynamic", "kmeanslab", "kmeanslab.datasets|experiments|text"): (
        "PEP 562: the package's __getattr__ loads its heavy subpackages (matplotlib, pandas, the "
        "text model) on first use; they sit below the package __init__, so the layers hold"
    ),
    ("dynamic", "kmeanslab.cli", "kmeanslab.cli.*"): (
        "cli/__init__.py discovers its command modules with pkgutil and loads them inside "
        "_command_modules(): kmeanslab's own modules imported inside a function (cli/ is being "
        "reworked by another helper; delete this once the commands are imported at the top)"
    ),
    ("dynamic", "kmeanslab.text", "<computed>"): (
        "text._require(name) loads the optional extras (tokenizers, safetensors, the MiniLM model "
        "package) by name; the test cannot see that the name is never kmeanslab's"
    ),
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool
    dynamic: bool = False


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module name ``from <...> import`` refers to."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".") if _is_package(importer) else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(importer: str, node: ast.AST) -> list[str]:
    """kmeanslab modules an import statement loads (a name may be a submodule or an attribute)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        module = _resolve(importer, node)
        names = [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]
    return [n for n in names if n == ROOT or n.startswith(ROOT + ".")]


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend(Import(module, t, child.lineno, inside) for t in dict.fromkeys(_targets(module, child)))
            elif isinstance(child, ast.Call) and _calls_import(child):
                target = _dynamic_target(module, child)
                if target is not None:
                    found.append(Import(module, target, child.lineno, inside, dynamic=True))
            visit(child, inside)

    visit(tree, False)
    return found


def _calls_import(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def _dynamic_target(module: str, call: ast.Call) -> str | None:
    """What an ``import_module`` call loads, as far as the source says; None if not kmeanslab.

    A constant name; ``f"{__name__}.{...}"`` (the module's own submodules: ``<module>.*``); the
    package's ``_LAZY_MODULES`` for its ``__getattr__``; else ``<computed>``.
    """
    arg = call.args[0] if call.args else None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        name = f"{module}{arg.value}" if arg.value.startswith(".") else arg.value
        return name if name == ROOT or name.startswith(ROOT + ".") else None
    if isinstance(arg, ast.JoinedStr) and arg.values:
        head = arg.values[0]
        if isinstance(head, ast.Constant):
            if head.value.startswith("."):
                lazy = _lazy_names(module)
                return f"{ROOT}." + "|".join(lazy) if lazy else f"{module}.*"
            return head.value if head.value.startswith(ROOT + ".") else None
        if isinstance(head, ast.FormattedValue) and getattr(head.value, "id", "") == "__name__":
            return f"{module}.*"
    return "<computed>"


def _lazy_names(module: str) -> list[str]:
    """The string names in the module's ``_LAZY_MODULES`` tuple, if it has one."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY_MODULES" for t in node.targets):
            return sorted(ast.literal_eval(node.value))
    return []


ALL_IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYER_OF:
        raise AssertionError(f"{module}: kmeanslab.{top} has no layer; add it to LAYERS in tests/test_layers.py")
    return LAYER_OF[top]


def _where(imp: Import) -> str:
    return f"{MODULES[imp.importer].relative_to(PACKAGE.parent)}:{imp.line}"


def _allowed(kind: str, imp: Import) -> bool:
    return (kind, imp.importer, imp.imported) in ALLOWED


def _graph() -> dict[str, set[str]]:
    """Module -> the modules its top-level imports load.

    An import of ``a.b.c`` loads ``a.b`` first; that implicit edge is left out when ``a.b`` is an
    ancestor of the importer (already being loaded when the importer runs). The top package is
    left out the same way. An explicit import of an ancestor (``from . import name``) counts.
    """
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in ALL_IMPORTS:
        if imp.in_function or imp.dynamic:
            continue
        parts = imp.imported.split(".")
        ancestors = {".".join(imp.importer.split(".")[:i]) for i in range(1, imp.importer.count(".") + 2)}
        for i in range(2, len(parts)):
            parent = ".".join(parts[:i])
            if parent in MODULES and parent not in ancestors:
                graph[imp.importer].add(parent)
        if imp.imported in MODULES and imp.imported != imp.importer:
            graph[imp.importer].add(imp.imported)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


# --------------------------------------------------------------------------- the tests


def test_the_graph_is_read_from_the_source():
    """The reader itself: it finds the imports that are known to be there."""
    edges = _graph()
    assert "kmeanslab.cluster._lloyd" in MODULES and "kmeanslab.scale._local" in MODULES
    assert "kmeanslab.scale" in edges["kmeanslab.cluster._lloyd"]
    assert "kmeanslab.cluster._assigners" in edges["kmeanslab.cluster._lloyd"]
    assert "kmeanslab.io" in edges["kmeanslab.io.model_file"]  # from . import atomic_write
    assert "kmeanslab.scale" not in edges["kmeanslab.scale._local"]  # its own package: already loaded
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_reader_sees_imports_inside_functions_upward_and_dynamic(tmp_path):
    source = tmp_path / "fake.py"
    source.write_text(
        "import numpy\n"
        "from .._core import assign\n"
        "class A:\n"
        "    from ..errors import InputError\n"
        "def f():\n"
        "    from ..cluster import KMeans\n"
        "    import importlib\n"
        "    importlib.import_module('kmeanslab.cli')\n"
        "    return lambda: __import__(name)\n"
    )
    found = {(i.imported, i.in_function, i.dynamic) for i in _imports("kmeanslab.scale.fake", source)}
    assert found == {
        ("kmeanslab._core", False, False),
        ("kmeanslab.errors", False, False),  # a class body runs at import time
        ("kmeanslab.cluster", True, False),
        ("kmeanslab.cli", True, True),
        ("<computed>", True, True),
    }
    assert _layer("kmeanslab.cluster") > _layer("kmeanslab.scale.fake") > _layer("kmeanslab._core")


def test_no_import_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles among kmeanslab's modules: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_own_import_inside_a_function():
    found = [
        f"{_where(imp)} imports {imp.imported} inside a function"
        for imp in ALL_IMPORTS
        if imp.in_function and not imp.dynamic and not _allowed("inside a function", imp)
    ]
    assert not found, "\n".join(found)


def test_dynamic_imports_are_only_the_allowed_ones():
    found = [
        f"{_where(imp)} loads {imp.imported} by import_module"
        for imp in ALL_IMPORTS
        if imp.dynamic and not _allowed("dynamic", imp)
    ]
    assert not found, "\n".join(found)


def _layer_targets(imp: Import) -> list[str]:
    """The modules an import may load, for the layer check (a computed name cannot be checked)."""
    if not imp.dynamic:
        return [imp.imported]
    if imp.imported == "<computed>":
        return []
    if "|" in imp.imported:
        return [f"{ROOT}.{name}" for name in imp.imported.removeprefix(ROOT + ".").split("|")]
    return [imp.imported.removesuffix(".*")]


def test_every_module_imports_only_its_own_layer_or_below():
    found = []
    for imp in ALL_IMPORTS:
        for target in _layer_targets(imp):
            if _layer(target) > _layer(imp.importer) and not _allowed("upward", imp):
                found.append(
                    f"{_where(imp)}: {imp.importer} (layer {_layer(imp.importer)}) imports {target} "
                    f"(layer {_layer(target)})"
                )
    assert not found, "\n".join(found)


def test_every_allowance_still_matches_something():
    """A stale allowance would hide nothing but could hide a new violation later: delete it."""
    kinds = {
        "inside a function": lambda imp: imp.in_function and not imp.dynamic,
        "dynamic": lambda imp: imp.dynamic,
        "upward": lambda imp: any(_layer(t) > _layer(imp.importer) for t in _layer_targets(imp)),
    }
    for kind, importer, imported in ALLOWED:
        assert any(kinds[kind](imp) and imp.importer == importer and imp.imported == imported for imp in ALL_IMPORTS), (
            f"ALLOWED has ({kind!r}, {importer!r}, {imported!r}), which no longer occurs: delete it"
        )


def test_the_package_init_only_re_exports():
    tree = ast.parse(MODULES[ROOT].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # the docstring
            continue
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":  # PEP 562 lazy loading
            continue
        pytest.fail(f"kmeanslab/__init__.py:{node.lineno}: {type(node).__name__}; the package __init__ only re-exports")


@pytest.mark.parametrize("package", ["cluster", "scale"])
def test_the_engine_faces_keep_their_public_names(package):
    """Others import these names from kmeanslab.cluster and kmeanslab.scale: the move keeps them."""
    names = {
        "cluster": "KMeans MiniBatchKMeans load associate_centroids compute_sq_dists update_centroids rand_init "
        "k_means lloyd LloydResult kmeans_plusplus choose_algorithm INIT_METHODS ALGORITHMS STOP_RULES "
        "EMPTY_POLICIES",
        "scale": "STREAM_MIN_BYTES NpyFile open_npy is_out_of_core iter_blocks as_dask_array connect is_dask_array",
    }[package]
    module = getattr(kmeanslab, package) if package != "cluster" else kmeanslab.cluster
    missing = [name for name in names.split() if not hasattr(module, name)]
    assert not missing
    assert set(names.split()) <= set(module.__all__)
