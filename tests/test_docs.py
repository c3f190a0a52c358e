"""Every command and Python block of README.md and docs/*.md runs as written, on a fresh copy of the example runs.

Per file, the blocks run in document order in one temporary directory holding a copy of ``examples/`` (so a later
block may use a file an earlier one wrote, as a reader following along would): a ```bash block with ``bash -e``
(the ``optimal`` program of this Python, this source tree first on PYTHONPATH), a ```python block exec'd in one
namespace per file. A block preceded by the line ``<!-- no-test -->`` is not run (installing, running the tests
themselves, a multi-process script); there are few. Other fences (```text, ```json) are output, never run.

A block made only of plain ``optimal ARGS`` lines (with at most ``> FILE`` / ``2> FILE`` at the end and a trailing
``# comment``, no other shell syntax) runs in this process instead: each line's arguments, split as the shell splits
them, go to ``optimal.cli.main.main`` (what the installed program calls), its exit status must be 0 as ``bash -e``
requires, and its output lands where the redirection says. The same parse and code, without starting Python and
importing JAX afresh for each of about 55 commands (2-2.5 s each, measured), and the programs a later Python block of
the same file compiles again (the README's ``fit --bootstrap 200`` and its Python twin) are compiled once. The
installed ``optimal`` executable itself still runs here, from the blocks that need a shell (docs/hyperparameters.md,
layout.md, envelope.md, shapes.md), and in tests/test_benchmarks.py's cold-start run.

The fast tests here check what needs no run: the marker count stays small, the generated performance page is current,
the example runs are what their script makes, and every install hint names the distribution ``optimal-scaling``.
"""

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import optimal

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NO_TEST = "<!-- no-test -->"
FENCE = re.compile(r"^(?P<marker><!-- no-test -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.S | re.M)


def blocks(path):
    """``(language, body, runs)`` of every fenced block of a Markdown file, in order."""
    return [(m["lang"], m["body"], not m["marker"]) for m in FENCE.finditer(path.read_text())]


def _run_bash(body, cwd, label):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               MPLBACKEND="Agg")
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{label} exited {done.returncode}:\n{body}\nstdout:\n{done.stdout[-3000:]}\n" \
                                 f"stderr:\n{done.stderr[-3000:]}"


_REDIRECT = re.compile(r"\s+(2?>)\s*([\w./-]+)$")
_OPERATORS = set("|&;<>()")


def _without_comment(line):
    """``line`` without a shell comment: from an unquoted ``#`` that begins a word (bash's rule) to the end."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def plain_commands(body):
    """The argument lists of a block made only of plain ``optimal ...`` lines (comments and blank lines aside),
    each as ``(argv, stdout_path, stderr_path)``; None when any line needs a shell (a pipe, a list, an expansion, a
    glob, a here-document, a redirection other than a trailing ``> FILE`` or ``2> FILE``)."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        line = _without_comment(line.strip())
        if not line:
            continue
        if not line.startswith("optimal ") or any(c in line for c in "$`*?~\\!{"):
            return None
        out = err = None
        while match := _REDIRECT.search(line):
            if match[1] == ">":
                out = out or match[2]
            else:
                err = err or match[2]
            line = line[:match.start()]
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""  # comments are gone (above); a # inside a word is the word's, as in the shell
        words = list(lexer)
        if any(set(w) <= _OPERATORS for w in words):
            return None
        commands.append((words[1:], out, err))
    return commands or None


def _run_in_process(commands, label):
    from optimal.cli.main import main

    for argv, out_path, err_path in commands:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # --help
                code = exc.code or 0
        assert code == 0, f"{label}: optimal {shlex.join(argv)} exited {code}:\nstdout:\n{out.getvalue()[-3000:]}\n" \
                          f"stderr:\n{err.getvalue()[-3000:]}"
        for path, text in ((out_path, out.getvalue()), (err_path, err.getvalue())):
            if path is not None:
                Path(path).write_text(text)


def test_plain_commands_are_parsed_as_the_shell_would():
    assert plain_commands("optimal fit runs.csv --by dataset \\\n  --json > fit.json\n# a comment\n") == [
        (["fit", "runs.csv", "--by", "dataset", "--json"], "fit.json", None)]
    assert plain_commands("optimal plan --compute 1e22 2> warnings.txt\n") == [
        (["plan", "--compute", "1e22"], None, "warnings.txt")]
    assert plain_commands("optimal solve --compute '1e22 1e23'\n") == [(["solve", "--compute", "1e22 1e23"], None, None)]
    assert plain_commands('optimal fit runs.csv --where "N>=1e7"\n') == [(["fit", "runs.csv", "--where", "N>=1e7"],
                                                                           None, None)]
    # a trailing comment is the reader's, not the command's (the README's blocks carry them), even with a glob's *
    assert plain_commands("optimal fit runs.csv --save fit.json   # fit, save\noptimal solve --fit fit.json  # N*, D*\n") \
        == [(["fit", "runs.csv", "--save", "fit.json"], None, None), (["solve", "--fit", "fit.json"], None, None)]
    assert plain_commands("optimal fit runs.csv --where 'N # x'\n") == [(["fit", "runs.csv", "--where", "N # x"], None,
                                                                           None)]  # quoted: not a comment
    assert plain_commands("optimal fit a#b\n") == [(["fit", "a#b"], None, None)]  # inside a word: not a comment
    for shell in ("optimal fit runs.csv | head", "cat x", "optimal fit $X", "optimal a && optimal b",
                  "optimal fit runs.csv > a > b c", "python -c 'print(1)'", "optimal fit < runs.csv",
                  "optimal fit *.csv", "optimal fit runs.csv; ls", "optimal fit a >> b", "optimal fit '*.csv' # x | y",
                  "optimal fit runs.csv \\# x *"):
        assert plain_commands(shell + "\n") is None, shell


@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_block_runs(path, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"}
    ran = 0
    for i, (lang, body, runs) in enumerate(blocks(path)):
        if not runs:
            continue
        label = f"{path.name} block {i + 1} ({lang})"
        if lang in ("bash", "sh", "shell"):
            commands = plain_commands(body)
            if commands:
                _run_in_process(commands, label)
            else:
                _run_bash(body, tmp_path, label)
        elif lang == "python":
            exec(compile(body, label, "exec"), namespace)
        else:
            continue
        ran += 1
    runnable = [b for b in blocks(path) if b[0] in ("bash", "sh", "shell", "python")]
    assert ran or not runnable, f"{path.name}: every runnable block is marked {NO_TEST}"


def test_few_blocks_are_left_out():
    """Blocks marked not to run stay few: install and test commands, and what needs several processes."""
    left_out = {p.name: sum(not runs for _, _, runs in blocks(p)) for p in DOCS}
    assert sum(left_out.values()) <= 8, left_out
    assert all(lang in ("bash", "sh", "shell", "python") for p in DOCS for lang, _, runs in blocks(p) if not runs)


def test_readme_has_the_install_and_test_commands():
    """CI runs the README's install and test commands: they stay there, spelled as CI expects."""
    bodies = [body for _, body, _ in blocks(ROOT / "README.md")]
    assert 'pip install -e ".[test]"\n' in bodies
    assert "python -m pytest\n" in bodies
    assert 'python -m pytest -m "not slow"\n' in bodies


def test_performance_page_is_current():
    """docs/performance.md is what benchmarks/report.py makes of benchmarks/results/ (rerun it after a benchmark)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import report
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert (ROOT / "docs" / "performance.md").read_text() == report.render(), \
        "docs/performance.md is out of date: run python benchmarks/report.py"


def test_example_runs_are_what_their_script_makes():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import make_runs
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert (ROOT / "examples" / "runs.csv").read_text() == "\n".join(make_runs.make_rows()) + "\n"


def test_distribution_name_and_version():
    """The index's `optimal` is another project: the distribution is optimal-scaling, and every install hint says so."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "optimal-scaling"
    assert optimal.__version__ == project["version"]
    sources = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "optimal").rglob("*.py")]
    for source in sources:
        for hint in re.findall(r"pip install [^\n`]*", source.read_text()):
            names = [w.strip("'\"") for w in hint.split()[2:] if not w.startswith("-")]
            for name in names:
                assert name.startswith((".", "optimal-scaling")) or not name.startswith("optimal"), \
                    f"{source.relative_to(ROOT)}: {hint!r} installs the wrong project; use optimal-scaling"


def _anchors(path):
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.*)$", path.read_text(), flags=re.M)}


def test_links_resolve():
    """Every relative link of README and docs/ names a file that exists, and an anchor that its headings make."""
    broken = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
                broken.append(f"{path.name}: {target}")
    assert not broken, broken
