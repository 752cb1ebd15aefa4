"""scripts/verify.py (`make verify`): notebook selection, record parsing, the table, and a real run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from lesson_helpers import register

from tlcourse import ledger

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("verify", ROOT / "scripts" / "verify.py")
verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify)


def notebook(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def loaded_by(code: str) -> list[str]:
    """The tlcourse modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run([sys.executable, "-c", f"{code}\n{verify.MODULES_CELL}"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return verify.loaded_modules(nbformat.from_dict({"outputs": [{"text": out.stdout}]}))


def test_select_the_registrys_lessons_by_number_name_stem_or_all(tmp_path, monkeypatch):
    register(tmp_path / "lessons", monkeypatch, "00_a", "02_b", "03_c")
    for name in ("00_a", "02_b", "03_c", "04_unregistered", "notes"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    names = lambda paths: [p.stem for p in paths]  # noqa: E731
    assert names(verify.select(["all"], tmp_path)) == ["00_a", "02_b", "03_c"]
    assert names(verify.select(["3", "02", "b", "02_b"], tmp_path)) == ["03_c", "02_b"]
    with pytest.raises(SystemExit, match="no solution notebook for LESSON='04': no lesson '04'; the lessons are: 00_a"):
        verify.select(["04"], tmp_path)
    (tmp_path / "02_b.ipynb").unlink()
    with pytest.raises(SystemExit, match="the lesson registry names 02_b.ipynb, which .* lacks"):
        verify.select(["all"], tmp_path)


def test_records_must_match_the_run(tmp_path):
    rec = tmp_path / "r.jsonl"
    line = {"lesson": "x", "profile": "cpu", "seed": 42, "key": "acc", "value": 0.5}
    rec.write_text(json.dumps(line) + "\n" + json.dumps({**line, "key": "f1", "value": 0.25}) + "\n")
    assert verify.read_records(rec, profile="cpu", seed=42) == ("x", {"acc": 0.5, "f1": 0.25})
    assert verify.read_records(tmp_path / "none.jsonl", profile="cpu", seed=42) == (None, {})
    with pytest.raises(verify.RunFailed, match="but this run is 'cpu', seed 43"):
        verify.read_records(rec, profile="cpu", seed=43)
    rec.write_text(json.dumps(line) + "\n" + json.dumps({**line, "value": 0.6}) + "\n")
    with pytest.raises(verify.RunFailed, match="recorded twice"):
        verify.read_records(rec, profile="cpu", seed=42)
    rec.write_text("not json\n")
    with pytest.raises(verify.RunFailed, match="line 1"):
        verify.read_records(rec, profile="cpu", seed=42)


def test_code_digest_follows_code_and_config_not_prose_comments_or_layout():
    a = notebook(("md", "# Title"), ("code", 'cfg = tl.config("start_here")'))
    b = notebook(("md", "# Another title, **Time:** 3 min"), ("code", 'cfg = tl.config("start_here")'))
    c = notebook(("md", "# Title"), ("code", 'cfg = tl.config("start_here", epochs=2)'))
    d = notebook(("md", "# Title"), ("code", '# the config\ncfg = tl.config(\n    "start_here",\n)  # fmt: skip'))
    digest = verify.code_digest(a, "start_here")
    assert digest == verify.code_digest(b, "start_here") == verify.code_digest(d, "start_here")
    assert digest != verify.code_digest(c, "start_here")
    assert digest != verify.code_digest(a, "fine_tuning")  # another lesson's sizes
    magic = notebook(("code", "%matplotlib inline\ncfg = 1"))
    assert verify.code_digest(magic, None) != verify.code_digest(notebook(("code", "%matplotlib agg\ncfg = 1")), None)


def test_asserts_and_a_claims_expected_verdict_make_no_numbers_so_they_do_not_count():
    cell = 'x = train()\nassert x > 0.5, "x"\ntl.ledger.claim(cfg, "a", "b", expect="A>B", min_tol=0.02)\n'
    rewritten = cell.replace('x > 0.5, "x"', "x > 0.9").replace('"A>B"', '"no reliable difference"')
    assert verify.canonical_code(cell) == verify.canonical_code(rewritten)
    assert verify.canonical_code(cell) == verify.canonical_code(cell.replace('assert x > 0.5, "x"\n', ""))
    assert verify.canonical_code(cell) != verify.canonical_code(cell.replace("min_tol=0.02", "min_tol=0.03"))
    assert verify.canonical_code(cell) != verify.canonical_code(cell.replace("train()", "train(2)"))
    assert verify.canonical_code(cell, checks=True) != verify.canonical_code(rewritten, checks=True)  # migration's
    assert verify.canonical_code("if a:\n    assert a\n") == verify.canonical_code("if a:\n    assert b, 'b'\n")


def test_a_ledger_checks_tolerance_makes_no_number_but_a_claims_does_decide_its_verdict():
    cell = ('x = train()\ntl.ledger.check(cfg, "acc", x, min_tol=0.02, applies=True)\n'
            'ledger.table(cfg, {"acc": x}, min_tol=0.02)\ntl.ledger.claim(cfg, "a", "b", expect="A>B", min_tol=0.02)\n')
    wider = cell.replace('x, min_tol=0.02', 'x, min_tol=max(0.02, 2 / cfg.n_test)').replace("}, min_tol=0.02", "}")
    assert verify.canonical_code(cell) == verify.canonical_code(wider)
    assert verify.canonical_code(cell) != verify.canonical_code(cell.replace('"A>B", min_tol=0.02', '"A>B", min_tol=0.05'))
    assert verify.canonical_code(cell) != verify.canonical_code(cell.replace("applies=True", "applies=False"))
    assert verify.canonical_code(cell, tolerances=True) != verify.canonical_code(wider, tolerances=True)  # migration's
    other = "model.check(x, min_tol=0.02)\n"  # not the ledger's: counts
    assert verify.canonical_code(other) != verify.canonical_code(other.replace("0.02", "0.03"))


def test_the_digests_text_is_the_same_on_python_3_11_to_3_13():
    """ast.dump's text changed (3.12: an empty type_params on every def; 3.13: empty fields left out; 3.12.0-1:
    an empty string after a nested f-string format spec), and with it every digest: on 3.13 each ledger entry
    looked stale. The digest writes the tree its own way; this text is what 3.11 and 3.13 both print."""
    import ast

    source = "def f(x, w=3):\n    return f'{x:>{w}}'"
    assert verify._dump(ast.parse(source)) == (
        "Module(body=[FunctionDef(name='f', args=arguments(args=[arg(arg='x'), arg(arg='w')], "
        "defaults=[Constant(value=3)]), body=[Return(value=JoinedStr(values=[FormattedValue(value=Name(id='x', "
        "ctx=Load()), conversion=-1, format_spec=JoinedStr(values=[Constant(value='>'), "
        "FormattedValue(value=Name(id='w', ctx=Load()), conversion=-1)]))]))])])")
    assert verify.canonical_code(source) == verify._dump(ast.parse(source))
    assert verify.canonical_code(source, legacy_dump=True) == ast.dump(ast.parse(source))  # migration's


def test_canonical_code_drops_comments_docstrings_and_layout_only():
    one = 'def f(x):\n    """Doc."""\n    return x + 1  # add one\n'
    two = "def f(x):\n\n    return (x +\n            1)\n"
    assert verify.canonical_code(one) == verify.canonical_code(two)
    assert verify.canonical_code(one) != verify.canonical_code(one.replace("x + 1", "x + 2"))
    assert verify.canonical_code("def f():\n    'only a docstring'\n") == verify.canonical_code("def f():\n    pass\n")
    assert verify.canonical_code("x = (") == "x = ("  # does not parse: kept as text
    toml = "[cpu]\nepochs = 3  # more is slower\n"
    assert verify.canonical_toml(toml) == verify.canonical_toml("[cpu]\n\nepochs=3\n[lesson]\ntitle = 'x'\n")
    assert verify.canonical_toml(toml) != verify.canonical_toml("[cpu]\nepochs = 4\n")
    sizes = "[common]\nseed = 1\n[smoke]\nepochs = 1\n[cpu]\nepochs = 3\n"
    cpu = verify.canonical_toml(sizes, "cpu")
    assert cpu == verify.canonical_toml(sizes.replace("epochs = 1", "epochs = 2"), "cpu")  # smoke's sizes
    assert cpu != verify.canonical_toml(sizes.replace("seed = 1", "seed = 2"), "cpu")  # shared


def test_every_tlcourse_module_is_classified():
    """A new module must say whether its code can change a recorded number (then it is in the digest)."""
    package = ROOT / "tlcourse"
    found = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
             for p in package.rglob("*.py")}
    assert found - set(verify.MODULE_ROLES) == set(), "classify these in scripts/verify.py MODULE_ROLES"
    assert set(verify.MODULE_ROLES) - found == set(), "MODULE_ROLES names modules that do not exist"
    assert set(verify.MODULE_ROLES.values()) == {verify.NUMBERS, verify.BOOKKEEPING}
    for name in verify.MODULE_ROLES:
        assert verify.module_file(name).is_file(), name
    assert verify.number_modules(["tlcourse", "tlcourse.train", "tlcourse.ledger", "tlcourse.new_thing"]) == [
        "tlcourse.new_thing", "tlcourse.train"]  # unclassified counts as number-making


def test_the_digest_covers_number_making_modules_and_the_stack(tmp_path, monkeypatch):
    nb = notebook(("code", 'cfg = tl.config("start_here")'))
    files = {"tlcourse.train": tmp_path / "train.py", "tlcourse.ledger": tmp_path / "ledger.py"}
    for f in files.values():
        f.write_text("x = 1\n")
    monkeypatch.setattr(verify, "module_file", lambda name: files[name])
    mods, stack = ["tlcourse.ledger", "tlcourse.train"], ["torch==2.14.0"]
    digest = verify.code_digest(nb, "start_here", mods, stack)
    assert digest != verify.code_digest(nb, "start_here", [], stack)
    files["tlcourse.ledger"].write_text("x = 2\n")  # bookkeeping: not part of the digest
    assert verify.code_digest(nb, "start_here", mods, stack) == digest
    files["tlcourse.train"].write_text("# a comment\nx = 1  # fmt: skip\n")  # not the code
    assert verify.code_digest(nb, "start_here", mods, stack) == digest
    files["tlcourse.train"].write_text("x = 2\n")  # the training loop changed
    changed = verify.code_digest(nb, "start_here", mods, stack)
    assert changed != digest
    assert verify.code_digest(nb, "start_here", mods, ["torch==2.15.0"]) != changed  # another torch
    assert verify.code_digest(nb, "start_here", ["tlcourse.ledger"], stack) != changed  # train not imported


def test_the_locked_stack_is_the_installed_versions_of_the_pins(tmp_path):
    from importlib.metadata import version

    lock = tmp_path / "constraints.txt"
    lock.write_text("# comment\nnbformat==0.0.1\npytest==1.0 ; sys_platform == 'linux'\n"
                    "not-a-real-distribution-xyz==1.0\n\n")
    assert verify.locked_stack(lock) == [f"nbformat=={version('nbformat')}", f"pytest=={version('pytest')}"]
    assert len(verify.locked_stack()) > 50  # the course's own lock


def test_an_entry_keeps_its_own_stack_a_pin_added_later_does_not_make_it_stale(tmp_path, monkeypatch):
    from importlib.metadata import version

    folder = tmp_path / "solutions"
    folder.mkdir()
    nb = notebook(("code", 'cfg = tl.config("start_here")'))
    nbformat.write(nb, folder / "91_a.ipynb")
    stack = [f"nbformat=={version('nbformat')}", f"pytest=={version('pytest')}"]
    run = {"seconds": 1.0, "values": {"acc": 0.5}}
    data = {"profiles": {}}
    ledger.merge_run(data, profile="cpu", notebook="91_a", lesson="start_here", seed=42, run=run,
                     modules=["tlcourse"], stack=stack, code=verify.code_digest(nb, "start_here", ["tlcourse"], stack, "cpu"))
    ledger.validate(data)
    lock = tmp_path / "constraints.txt"
    lock.write_text("\n".join([*stack, f"packaging=={version('packaging')}"]) + "\n")
    monkeypatch.setattr(verify, "CONSTRAINTS", lock)  # the lock grew a pin another lesson needs
    assert verify.stale_entries(data, folder) == []
    data["profiles"]["cpu"]["91_a"]["stack"] = [f"nbformat=={version('nbformat')}", "pytest==0.0.1"]
    assert verify.stale_entries(data, folder) == [
        f"cpu/91_a: installed packages changed since it was measured (pytest 0.0.1 -> {version('pytest')})"]
    lock.write_text(f"nbformat=={version('nbformat')}\n")  # pytest left the lock: no dependency any more
    data["profiles"]["cpu"]["91_a"]["code"] = verify.code_digest(nb, "start_here", ["tlcourse"],
                                                                 data["profiles"]["cpu"]["91_a"]["stack"], "cpu")
    assert verify.stale_entries(data, folder) == []
    # a locked pin this interpreter does not install (jupyter needs `overrides` below Python 3.12 only)
    lock.write_text(f"nbformat=={version('nbformat')}\nnot-installed-here==7.7.0\n")
    data["profiles"]["cpu"]["91_a"]["stack"].append("not-installed-here==7.7.0")
    data["profiles"]["cpu"]["91_a"]["code"] = verify.code_digest(nb, "start_here", ["tlcourse"],
                                                                 data["profiles"]["cpu"]["91_a"]["stack"], "cpu")
    assert verify.stale_entries(data, folder) == []
    data["profiles"]["cpu"]["91_a"]["stack"] = ["nbformat"]
    with pytest.raises(ledger.LedgerError, match="stack: must be a list of name==version pins"):
        ledger.validate(data)


def test_a_new_run_joins_an_entry_whose_pins_are_unchanged_though_the_lock_grew(tmp_path, monkeypatch):
    """A pin added to the lock for another lesson must not drop a lesson's seeds when it gains one
    (it did: held-out runs of six lessons compared with no ledger after pytest-xdist joined the lock)."""
    from importlib.metadata import version

    nb = notebook(("code", 'cfg = tl.config("start_here")'))
    stack = [f"nbformat=={version('nbformat')}", f"pytest=={version('pytest')}"]
    run = {"seconds": 1.0, "values": {"acc": 0.5}}
    data = {"profiles": {}}
    ledger.merge_run(data, profile="cpu", notebook="91_a", lesson="start_here", seed=42, run=run,
                     modules=["tlcourse"], stack=stack, code=verify.code_digest(nb, "start_here", ["tlcourse"], stack, "cpu"))
    lock = tmp_path / "constraints.txt"
    lock.write_text("\n".join([*stack, f"packaging=={version('packaging')}"]) + "\n")
    monkeypatch.setattr(verify, "CONSTRAINTS", lock)
    entry = data["profiles"]["cpu"]["91_a"]
    whole = verify.locked_stack(lock)
    assert verify.code_digest(nb, "start_here", ["tlcourse"], whole, "cpu") != entry["code"]  # the old way: dropped
    assert verify.stack_for_run(entry) == stack
    note = ledger.merge_run(data, profile="cpu", notebook="91_a", lesson="start_here", seed=43, run=run,
                            modules=["tlcourse"], stack=stack, code=verify.code_digest(nb, "start_here", ["tlcourse"], stack, "cpu"))
    assert note is None and list(data["profiles"]["cpu"]["91_a"]["runs"]) == ["42", "43"]
    entry["stack"] = [f"nbformat=={version('nbformat')}", "pytest==0.0.1"]  # a pin of its own changed: today's stack
    assert verify.stack_for_run(entry) == whole
    assert verify.stack_for_run(None) == whole


def test_markdown_table_has_time_load_and_every_number():
    data: dict = {}
    for seed, acc in ((42, 0.70), (43, 0.74)):
        ledger.merge_run(data, profile="cpu", notebook="03_x", lesson="x", code="c", seed=seed, run={
            "seconds": 300.0 + seed, "date": "2026-12-01 07:00 UTC", "machine": "x86_64, 2 cores, no GPU",
            "load_start": 0.05 * (seed - 41), "load_end": 1.5, "values": {"acc": acc, "loss": 0.5}})
    text = verify.markdown(data)
    assert "## Profile `cpu`" in text
    assert "| `03_x` | 42, 43 | 5.7 min (5.7 min-5.7 min) | x86_64, 2 cores, no GPU | 2026-12-01 | 0.05 / 1.50 |" in text
    assert "`acc` | 0.72 +/- 0.02828 | 0.7-0.74 |" in text
    assert "`loss` | 0.5 +/- 0 | 0.5-0.5 |" in text


def test_a_stale_entry_is_removed_before_new_runs_compare_with_it(tmp_path):
    folder = tmp_path / "solutions"
    folder.mkdir()
    nb = notebook(("code", "import tlcourse as tl\nx = 1"))
    nbformat.write(nb, folder / "00_start_here.ipynb")
    run = {"seconds": 1.0, "values": {"acc": 0.5}}
    path = tmp_path / "results.json"
    with ledger.locked(path) as data:
        for profile, code in (("cpu", "made by other code"), ("smoke", None)):
            ledger.merge_run(data, profile=profile, notebook="00_start_here", lesson="start_here", seed=42, run=run,
                             modules=["tlcourse"], stack=verify.locked_stack(),
                             code=code or verify.code_digest(nb, "start_here", ["tlcourse"], None, profile))
    notes = verify.drop_stale(path, "cpu", [folder / "00_start_here.ipynb"])
    assert notes == ["00_start_here (cpu): its entry was made by other code; seeds 42 removed before the new runs"]
    assert "00_start_here" not in ledger.load(path)["profiles"]["cpu"]
    assert verify.drop_stale(path, "smoke", [folder / "00_start_here.ipynb"]) == []  # current: kept
    assert "00_start_here" in ledger.load(path)["profiles"]["smoke"]


def test_verify_runs_notebooks_merges_good_runs_and_fails_on_a_broken_one(tmp_path, monkeypatch, capsys):
    """End to end, in real kernels: a tiny notebook's run joins the ledger; a failing one is not merged;
    a notebook that records another lesson's numbers than its registered one fails."""
    monkeypatch.setattr(verify, "EXECUTED", tmp_path / "executed")
    # the kernel reads the real tlcourse/lessons/start_here.toml; here the registry numbers it 91
    register(tmp_path / "lessons", monkeypatch, "91_start_here", "92_broken", "93_tiny")
    folder = tmp_path / "solutions"
    folder.mkdir()
    good = notebook(("md", "# Tiny"), ("code", "import os\nimport tlcourse as tl\n"
                                               'cfg = tl.config("start_here")\n'
                                               'tl.ledger.record(cfg, "seed_half", cfg.seed / 2)\n'
                                               'tl.ledger.record(cfg, "cwd_is_here", float(os.path.isfile("91_start_here.ipynb")))\n'
                                               f'tl.ledger.record(cfg, "reads_this_ledger", float(str(tl.ledger.default_path()) == {str(tmp_path / "results.json")!r}))'))
    bad = notebook(("code", "x = 1"), ("code", 'raise RuntimeError("the check says no")'))
    nbformat.write(good, folder / "91_start_here.ipynb")
    nbformat.write(bad, folder / "92_broken.ipynb")
    nbformat.write(good, folder / "93_tiny.ipynb")  # registered as lesson 'tiny', records 'start_here'
    path = tmp_path / "results.json"
    modules = loaded_by("import tlcourse")  # what the notebook's import loads, as the kernel will
    assert "tlcourse" in modules and "tlcourse.ledger" in modules
    with ledger.locked(path) as data:  # seed 42 measured earlier with the same code: kept
        ledger.merge_run(data, profile="cpu", notebook="91_start_here", lesson="start_here", seed=42, modules=modules,
                         code=verify.code_digest(good, "start_here", modules, None, "cpu"), run={
                             "seconds": 5.0, "machine": "m", "load_start": 0.1, "load_end": 0.1,
                             "date": "2026-11-30 10:00 UTC", "values": {"seed_half": 21.0, "cwd_is_here": 1.0, "reads_this_ledger": 1.0}})
    args = ["--folder", str(folder), "--ledger", str(path), "--profile", "cpu", "--first-seed", "43"]
    assert verify.main([*args, "--lessons", "all", "--seeds", "1"]) == 1  # 92 and 93 fail
    out = capsys.readouterr().out
    assert "FAILED 92_broken seed 43 (not merged): cell 1 ('raise RuntimeError" in out
    assert "RuntimeError: the check says no" in out
    assert "FAILED 93_tiny seed 43 (not merged): 93_tiny.ipynb is lesson 'tiny' (tlcourse/lessons/tiny.toml) " \
           "but recorded numbers for 'start_here'" in out
    entry = ledger.load(path)["profiles"]["cpu"]
    assert list(entry) == ["91_start_here"]
    assert entry["91_start_here"]["lesson"] == "start_here"
    runs = entry["91_start_here"]["runs"]
    assert {s: r["values"] for s, r in runs.items()} == {
        "42": {"seed_half": 21.0, "cwd_is_here": 1.0, "reads_this_ledger": 1.0},
        "43": {"seed_half": 21.5, "cwd_is_here": 1.0, "reads_this_ledger": 1.0}}
    # the kernel's list, recorded: at least the static import closure (modules imported inside
    # functions, such as the learner's-numbers hook of tl.ledger.record, come on top)
    assert set(modules) <= set(entry["91_start_here"]["modules"])
    assert verify.stale_entries(ledger.load(path), folder) == []
    assert all(r["seconds"] > 0 and r["load_start"] is not None for r in runs.values())
    assert entry["91_start_here"]["summary"]["values"]["seed_half"]["n"] == 2
    assert "`91_start_here` | 42, 43 |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "executed" / "92_broken.cpu.43.ipynb").is_file()


def test_verify_checks_the_ledger_and_its_arguments_before_running_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "verify_one", lambda *a, **k: pytest.fail("a notebook ran"))
    monkeypatch.delenv("TLCOURSE_PROFILE", raising=False)  # make test runs under smoke: the default is cpu
    register(tmp_path / "lessons", monkeypatch, "91_tiny")
    folder = tmp_path / "solutions"
    folder.mkdir()
    nbformat.write(notebook(("code", "x = 1")), folder / "91_tiny.ipynb")
    path = tmp_path / "results.json"
    path.write_text('{"profiles": {"cpu": {"91_tiny": {"lesson": "x", "code": "c", "runs": {}, '
                    '"summary": {"seconds": {"mean": Infinity, "min": 1, "max": 1, "n": 1}, "values": {}}}}}}')
    args = ["--folder", str(folder), "--ledger", str(path), "--lessons", "91"]
    assert verify.main(args) == 2
    assert "summary.seconds.mean = inf" in capsys.readouterr().err
    assert verify.main([*args, "--check"]) == 2
    path.unlink()
    assert verify.main([*args, "--check"]) == 0
    assert "1 notebook(s), 5 seed(s)" in capsys.readouterr().out  # cpu: 5 seeds by default
    assert verify.main([*args, "--check", "--profile", "smoke"]) == 0
    assert "3 seed(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        verify.main([*args, "--check", "--lessons", "07"])
    with pytest.raises(SystemExit):
        verify.main([*args, "--first-seed", "-1"])
    with pytest.raises(SystemExit):
        verify.main([*args, "--seeds", "0"])


def test_migration_rewrites_only_entries_whose_previous_digest_matches_todays_files(tmp_path, capsys):
    folder = tmp_path / "solutions"
    folder.mkdir()
    a = notebook(("code", 'import tlcourse as tl\ncfg = tl.config("start_here")'))
    b = notebook(("code", 'import tlcourse as tl\ncfg = tl.config("start_here")\nx = 2'))
    nbformat.write(a, folder / "91_a.ipynb")
    nbformat.write(b, folder / "92_b.ipynb")
    c = notebook(("code", 'import tlcourse as tl\ncfg = tl.config("start_here")\ntl.ledger.check(cfg, "acc", 0.5, min_tol=0.1)'))
    nbformat.write(c, folder / "93_c.ipynb")
    run = {"seconds": 1.0, "date": "2026-12-01 07:00 UTC", "machine": "m", "values": {"acc": 0.5}}
    path = tmp_path / "results.json"
    mods, stack = ["tlcourse", "tlcourse.train"], verify.locked_stack()
    with ledger.locked(path) as data:
        ledger.merge_run(data, profile="cpu", notebook="91_a", lesson="start_here", seed=42, run=run,
                         modules=mods, code=verify.raw_digest(a, "start_here", mods))  # previous formula, no stack
        ledger.merge_run(data, profile="cpu", notebook="92_b", lesson="start_here", seed=42, run=run,
                         modules=mods, code=verify.raw_digest(a, "start_here", mods))  # the notebook changed since
        ledger.merge_run(data, profile="smoke", notebook="91_a", lesson="start_here", seed=42, run=run, modules=mods,
                         stack=stack, code=verify.code_digest(a, "start_here", mods, stack, "smoke"))  # today's formula
        ledger.merge_run(data, profile="smoke", notebook="93_c", lesson="start_here", seed=42, run=run, modules=mods,
                         stack=stack, code=verify.code_digest(c, "start_here", mods, stack, "smoke", tolerances=True,
                                                              legacy_dump=True))
        ledger.merge_run(data, profile="cpu", notebook="93_c", lesson="start_here", seed=42, run=run, modules=mods,
                         stack=stack, code=verify.code_digest(c, "start_here", mods, stack, "cpu", legacy_dump=True))
    stale = "its notebook, lesson TOML, number-making modules or stack changed"
    assert verify.stale_entries(ledger.load(path), folder) == [f"cpu/91_a: {stale}", f"cpu/92_b: {stale}",
                                                              f"cpu/93_c: {stale}", f"smoke/93_c: {stale}"]
    assert verify.main(["--folder", str(folder), "--ledger", str(path), "--migrate-digests"]) == 0
    out = capsys.readouterr().out
    assert "migrated to today's digest: cpu/91_a, cpu/93_c, smoke/93_c" in out and "cpu/92_b (its notebook, TOML, modules" in out
    entries = ledger.load(path)["profiles"]
    assert entries["cpu"]["91_a"]["stack"] == stack and entries["cpu"]["91_a"]["runs"]["42"]["values"] == {"acc": 0.5}
    assert verify.stale_entries(ledger.load(path), folder) == [f"cpu/92_b: {stale}"]
    assert verify.main(["--folder", str(folder), "--ledger", str(path), "--migrate-digests"]) == 0
    assert "migrated to today's digest: none" in capsys.readouterr().out  # idempotent


def test_the_kernel_gets_absolute_paths_whatever_the_command_line_said(tmp_path, monkeypatch):
    # The kernel runs in the notebook's folder: `--ledger docs/results.json` passed on as it was named
    # there a file that does not exist, and every comparison was skipped as "no entry".
    monkeypatch.chdir(tmp_path)
    env = verify.kernel_env(profile="cpu", seed=42, record=Path("rec.jsonl"), ledger_path=Path("docs/results.json"))
    assert env["TLCOURSE_LEDGER"] == str(tmp_path / "docs" / "results.json")
    assert env["TLCOURSE_RECORD"] == str(tmp_path / "rec.jsonl")
    assert (env["TLCOURSE_PROFILE"], env["TLCOURSE_SEED"]) == ("cpu", "42")
    assert Path(verify.kernel_env(profile="cpu", seed=1, record=tmp_path / "r")["TLCOURSE_LEDGER"]).is_absolute()
