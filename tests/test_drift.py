"""tools/drift.py compares executed notebooks with their recorded outputs (no kernel needed)."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import drift  # noqa: E402


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(outputs, tags=(), source="x"):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source,
            "outputs": outputs, "execution_count": None}


def _out(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def _err(ename, evalue=""):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def _notebooks():
    cells = [
        _md("# Title\n## Loading copies values\n"),
        _code([_out("same\n")]),
        _md("**Rule: `load_state_dict` copies values into the existing tensors.**"),
        _code([_out("✔ copies\n")]),
        _md("## Errors on purpose\n"),
        _code([_err("RuntimeError", "boom")], tags=["raises-exception"]),
        _code([_out("at 0x1234\n")]),
        _code([_out("ok\n")], source="assert a == b"),
        _code([_out("later\n")]),
    ]
    recorded = {"cells": cells}
    executed = {"cells": [dict(c) for c in cells]}
    executed["cells"][1] = _code([_out("different\n")])
    executed["cells"][3] = _code([_err("CheckFailed", "✘ does not hold here: copies (torch 9)")])
    executed["cells"][5] = _code([_err("RuntimeError", "boom, reworded")],
                                 tags=["raises-exception"])
    executed["cells"][6] = _code([_out("at 0xffff\n")])
    executed["cells"][7] = _code([_err("AssertionError")], source="assert a == b")
    executed["cells"][8] = _code([_err("NameError", "name 'm' is not defined")])
    return recorded, executed


def test_compare_finds_changed_outputs_checks_and_errors():
    recorded, executed = _notebooks()
    rules = [(re.compile("0x[0-9a-f]+"), "0xADDRESS")]
    drifts = {d.index: d for d in drift.compare(recorded, executed, rules)}
    assert drifts[1].changed and not drifts[1].failure
    assert "-same" in drifts[1].diff and "+different" in drifts[1].diff
    assert drifts[3].failure == "check" and "does not hold here: copies" in drifts[3].message
    assert drifts[3].section == "Loading copies values"
    assert drifts[5].changed and not drifts[5].failure  # expected error, other message
    assert 6 not in drifts  # an address is masked by the sanitize rules
    assert drifts[7].failure == "check" and drifts[7].message == "AssertionError: assert a == b"
    assert drifts[8].failure == "follow-on"


def test_report_names_the_claims_that_fail():
    recorded, executed = _notebooks()
    results = {"04_demo": (recorded, drift.compare(recorded, executed, []))}
    meta = {"date": "2026-01-01", "commit": "abc", "recorded_torch": "2.13.0+cpu",
            "torch": "9.0", "build": "CPU build", "platform": "Linux x86_64", "differs": []}
    text = drift.report("9.0", results, meta)
    assert "| 04_demo | 6 | 6 | 2 | 1 |" in text
    assert "*`load_state_dict` copies values into the existing tensors.*" in text
    assert drift.summary_table(text).startswith("| notebook |")


def test_section_rules_reads_both_rule_spellings():
    cells = [_md("## A\n**Rule:** views share memory.\n"), _md("### B\n**Rule: clone copies.**"),
             _md("**Rule: detach shares.**\n\n## C\ntext"),
             _md("```python\n# a comment, not a heading\n```\n**Rule:** in C.")]
    headings, rules = drift.section_rules(cells)
    assert headings == ["A", "B", "C", "C"]
    assert rules == {"A": ["views share memory."], "B": ["clone copies.", "detach shares."],
                     "C": ["in C."]}
