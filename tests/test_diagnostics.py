"""Input diagnostics: every bad input fails with exit code 2, located messages, no traceback,
and nothing written (cases B18, B19, B09 and our own failure fixtures)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main
from generator.diagnostics import Diagnostics
from generator.load import load_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# A small capability that is valid even under --strict (no warnings at all).
BASE = """\
naftiko: 1.0.0-alpha2
info:
  label: Tiny API
  description: A tiny capability.
capability:
  consumes:
  - type: http
    namespace: tiny
    baseUri: http://upstream.test
    resources:
    - name: things
      path: /things/{thing_id}
      operations:
      - name: getthing
        method: GET
        inputParameters:
        - name: thing_id
          in: path
        - name: q
          in: query
  exposes:
  - type: rest
    namespace: tiny-rest
    port: 8080
    resources:
    - path: /v1/things/{thing_id}
      name: things
      operations:
      - method: GET
        name: getthing
        call: tiny.getthing
        with:
          q: rest.q
  - type: mcp
    namespace: tiny-mcp
    port: 9090
    transport: http
    tools:
    - name: get-thing
      description: Get a thing.
      call: tiny.getthing
"""


def run(out: Path, *args: str | Path) -> Result:
    return CliRunner().invoke(main, ["generate", *map(str, args), "--out", str(out)])


def assert_failed(result: Result, out: Path) -> str:
    """Exit 2, a clean message (no traceback), and nothing written; returns stderr."""
    stderr = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "internal error" not in stderr
    assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))
    assert "error:" in stderr
    return stderr


def write_doc(tmp_path: Path, text: str | bytes, name: str = "cap.yaml") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def lines_for(stderr: str, line: int) -> list[str]:
    return [row for row in stderr.splitlines() if re.search(rf":{line}:\d+: error: ", row)]


def test_base_document_is_valid_even_strict(tmp_path: Path) -> None:
    """The inline documents below are variations of BASE; BASE itself must pass."""
    path = write_doc(tmp_path, BASE)
    out = tmp_path / "generated"
    result = run(out, path, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert (out / "cap" / "rest.py").is_file()


# --- our fixtures ---------------------------------------------------------------------------


def test_malformed_yaml_is_located(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, FIXTURES / "malformed.yaml"), out)
    assert "malformed.yaml:22:43" in stderr
    assert "mapping values are not allowed" in stderr
    assert "<unicode string>" not in stderr
    assert "quote" in stderr  # the hint


def test_malformed_tab_is_located(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, FIXTURES / "malformed_tab.yaml"), out)
    assert "malformed_tab.yaml:21:1" in stderr
    assert "tab" in stderr.lower()


ERRORS_ALL = {
    34: ("capability.consumes[0].resources[1].path", "aisle_code"),
    43: ("capability.consumes[0].resources[2].operations[0].method", "FETCH"),
    48: ("capability.exposes[0].port", "eighty"),
    53: ("capability.exposes[0].resources[0].description", "duplicate key"),
    60: ("capability.exposes[0].resources[0].operations[0].with.bin", "bin"),
    78: ("capability.exposes[0].resources[2].operations[0].steps", "steps"),
    95: ("capability.exposes[1].tools[0].call", "depot.nosuchop"),
    98: ("capability.exposes[1].tools[1].name", "list bins"),
}


def test_errors_all_reports_all_eight_in_one_run(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, FIXTURES / "errors_all.yaml"), out)
    for line, (doc_path, needle) in ERRORS_ALL.items():
        rows = [r for r in lines_for(stderr, line) if "errors_all.yaml" in r]
        assert rows, f"no error on line {line}:\n{stderr}"
        assert any(f"[{doc_path}]" in r and needle in r for r in rows), (line, rows)
    assert "8 error(s)" in stderr
    # the unknown call lists the namespace's known operations
    unknown = lines_for(stderr, 95)[0]
    for op in ("getbin", "listaislebins", "createmove"):
        assert op in unknown


def test_duplicates_reports_tool_name_limit(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, FIXTURES / "duplicates.yaml"), out)
    rows = [r for r in lines_for(stderr, 84) if "[capability.exposes[1].tools[2].name]" in r]
    assert rows, stderr
    assert "64" in rows[0]
    assert "duplicates.yaml:84:" in rows[0]


def test_unsupported_steps_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, FIXTURES / "unsupported_steps.yaml"), out)
    rows = lines_for(stderr, 55)
    assert any(
        "unsupported:" in r and "[capability.exposes[0].resources[1].operations[0].steps]" in r
        for r in rows
    ), stderr


def test_validate_command_reports_the_same(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(FIXTURES / "errors_all.yaml")])
    assert result.exit_code == 2
    assert "8 error(s)" in result.stderr
    assert "Traceback" not in result.output


def test_one_bad_file_blocks_the_whole_run(tmp_path: Path) -> None:
    good = write_doc(tmp_path, BASE, "good.yaml")
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, good, FIXTURES / "malformed.yaml"), out)
    assert "nothing was written" in stderr


# --- inline documents -----------------------------------------------------------------------

INLINE_CASES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "sequence_root": ("- a\n- b\n", ("1:1", "not a capability document", "list")),
    "scalar_root": ("just text\n", ("1:1", "not a capability document")),
    "ikanos": (
        BASE.replace("naftiko: 1.0.0-alpha2", "ikanos: 1.0.0"),
        ("1:9", "Ikanos", "[ikanos]"),
    ),
    "pre_1_0": (BASE.replace("1.0.0-alpha2", "0.5"), ("1:10", "0.5", "pre-1.0", "[naftiko]")),
    "no_version": (BASE.replace("naftiko: 1.0.0-alpha2\n", ""), ("naftiko",)),
    "not_utf8": (
        BASE.replace("A tiny capability.", "Caf\xe9 menu.").encode("latin-1"),
        ("4:19", "not valid UTF-8"),
    ),
    "empty": ("", ("1:1", "empty")),
    "comments_only": ("# nothing here\n", ("1:1", "empty")),
    "duplicate_key": (
        BASE.replace("    port: 8080\n", "    port: 8080\n    port: 8081\n"),
        ("25:5", "duplicate key 'port'", "line 24", "[capability.exposes[0].port]"),
    ),
    "unknown_call": (
        BASE.replace("call: tiny.getthing\n", "call: tiny.getthings\n", 1),
        ("31:15", "tiny.getthings", "getthing", "[capability.exposes[0].resources[0].operations[0].call]"),
    ),
    "unknown_namespace": (
        BASE.replace("      call: tiny.getthing\n", "      call: huge.getthing\n"),
        ("41:13", "huge", "[capability.exposes[1].tools[0].call]"),
    ),
    "with_not_a_parameter": (
        BASE.replace("          q: rest.q\n", "          qq: rest.q\n"),
        ("33:15", "`qq` is not an input parameter of tiny.getthing", "thing_id", "q",
         "[capability.exposes[0].resources[0].operations[0].with.qq]"),
    ),
    "port_as_text": (
        BASE.replace("port: 9090", "port: ninety"),
        ("36:11", '"ninety"', "integer", "[capability.exposes[1].port]"),
    ),
    "bad_method": (
        BASE.replace("method: GET", "method: FETCH", 1),
        ("15:17", "FETCH", "[capability.consumes[0].resources[0].operations[0].method]"),
    ),
    "tool_name_with_space": (
        BASE.replace("- name: get-thing", "- name: get thing"),
        ("39:13", "get thing", "[capability.exposes[1].tools[0].name]"),
    ),
    "missing_placeholder_source": (
        BASE.replace("/v1/things/{thing_id}", "/v1/things"),
        ("thing_id", "no source"),
    ),
}


@pytest.mark.parametrize("case", sorted(INLINE_CASES))
def test_inline_invalid_document(tmp_path: Path, case: str) -> None:
    text, needles = INLINE_CASES[case]
    path = write_doc(tmp_path, text)
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, path), out)
    assert "cap.yaml:" in stderr
    for needle in needles:
        if re.fullmatch(r"\d+:\d+", needle):
            assert f"cap.yaml:{needle}: error:" in stderr, stderr
        else:
            assert needle in stderr, (needle, stderr)


def test_strict_turns_a_warning_into_an_error(tmp_path: Path) -> None:
    # A typed consumed parameter breaks the official schema in a tolerated way.
    text = BASE.replace("          in: query\n", "          in: query\n          type: string\n")
    path = write_doc(tmp_path, text)
    out = tmp_path / "generated"
    lenient = run(out, path)
    assert lenient.exit_code == 0, lenient.output
    assert re.search(r"cap\.yaml:\d+:\d+: warning: .*type", lenient.stderr)
    assert (out / "cap" / "rest.py").is_file()

    strict_out = tmp_path / "strict"
    stderr = assert_failed(run(strict_out, path, "--strict"), strict_out)
    assert re.search(
        r"cap\.yaml:21:\d+: error: .*`type`.*\[capability\.consumes\[0\]\.resources\[0\]"
        r"\.operations\[0\]\.inputParameters\[1\]",
        stderr,
    ), stderr


def test_strict_pattern_violation(tmp_path: Path) -> None:
    text = BASE.replace("- name: get-thing", "- name: get_thing")
    path = write_doc(tmp_path, text)
    assert run(tmp_path / "lenient", path).exit_code == 0
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, path, "--strict"), out)
    assert "[capability.exposes[1].tools[0].name]" in stderr


def test_package_collision_between_files(tmp_path: Path) -> None:
    first = write_doc(tmp_path, BASE, "a-b.yaml")
    second = write_doc(tmp_path, BASE.replace("8080", "8082").replace("9090", "9092"), "a_b.yaml")
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, first, second), out)
    assert "collides" in stderr
    assert "a_b" in stderr
    assert "a-b.yaml" in stderr and "a_b.yaml" in stderr


def test_package_collision_when_given_a_folder(tmp_path: Path) -> None:
    write_doc(tmp_path, BASE, "a-b.yaml")
    write_doc(tmp_path, BASE, "a_b.yaml")
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, tmp_path / "in"), out)
    assert "collides" in stderr


def test_long_tool_names_rejected_b09(tmp_path: Path) -> None:
    shared = "get-member-" + "x" * 53  # 64 characters shared by both names
    assert len(shared) == 64
    long_a = shared + "-audit-trail-with-every-detail-x"[:30]
    long_b = shared + "-audit-summary-for-the-month-xx"[:30]
    assert len(long_a) == len(long_b) == 94
    tools = f"""\
    - name: {long_a}
      description: Audit trail.
      call: tiny.getthing
    - name: {long_b}
      description: Audit summary.
      call: tiny.getthing
    - name: get-member
      description: One member.
      call: tiny.getthing
"""
    text = BASE.split("    tools:\n")[0] + "    tools:\n" + tools
    path = write_doc(tmp_path, text)
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, path), out)
    for index, line in ((0, 39), (1, 42)):
        rows = [r for r in lines_for(stderr, line) if f"[capability.exposes[1].tools[{index}].name]" in r]
        assert rows and "64" in rows[0], stderr
    assert "tools[2]" not in stderr


def test_exactly_64_character_tool_name_is_fine(tmp_path: Path) -> None:
    name = "t" * 64
    path = write_doc(tmp_path, BASE.replace("- name: get-thing", f"- name: {name}"))
    result = run(tmp_path / "generated", path)
    assert result.exit_code == 0, result.output


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    rows = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        rows.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]")
    path = write_doc(tmp_path, "\n".join(rows) + "\n")
    out = tmp_path / "generated"
    stderr = assert_failed(run(out, path), out)
    assert "too large" in stderr


def test_no_capability_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["generate", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no capability files" in result.stderr


# --- YAML 1.2 semantics -----------------------------------------------------------------------


def test_yaml_1_2_scalars() -> None:
    sink = Diagnostics()
    text = (
        "a: on\nb: yes\nc: no\nd: off\ne: y\nf: 2026-02-03\ng: 2026-02-03T10:00:00Z\n"
        "h: true\ni: False\nj: null\nk: ~\nl:\nm: 0o17\nn: 0x1F\no: 1_000\np: 12:30\n"
        "q: 1.5\nr: .inf\ns: '1.0'\nt: 010\nu: Null\n"
    )
    document = load_text("x.yaml", text, sink)
    assert document is not None and not len(sink)
    assert document.data == {
        "a": "on", "b": "yes", "c": "no", "d": "off", "e": "y",
        "f": "2026-02-03", "g": "2026-02-03T10:00:00Z",
        "h": True, "i": False, "j": None, "k": None, "l": None,
        "m": 15, "n": 31, "o": "1_000", "p": "12:30",
        "q": 1.5, "r": float("inf"), "s": "1.0", "t": 10, "u": None,
    }


def test_yaml_positions_and_duplicate_keys() -> None:
    sink = Diagnostics()
    document = load_text("x.yaml", "top:\n  key: 1\n  other: [a, b]\n  key: 2\n", sink)
    assert document is not None
    assert document.data == {"top": {"key": 1, "other": ["a", "b"]}}
    assert document.positions[("top", "other", 1)] == (3, 14)
    [diagnostic] = list(sink)
    assert (diagnostic.line, diagnostic.column) == (4, 3)
    assert "duplicate key 'key'" in diagnostic.message and "line 2" in diagnostic.message
    assert diagnostic.doc_path == ("top", "key")


def test_yaml_bom_is_accepted(tmp_path: Path) -> None:
    path = write_doc(tmp_path, b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    result = run(tmp_path / "generated", path)
    assert result.exit_code == 0, result.output
