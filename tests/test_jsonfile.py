"""The shared JSON reader (neuromesh/jsonfile.py) and `neuromesh.text.printable`: each refusal
is one JsonFileError line naming the file and the reason; the limits sit exactly where the
docstring says (the boundary cases are built by hand here, not by the code under test)."""
import json
import os
import threading
from pathlib import Path

import pytest

from neuromesh import jsonfile
from neuromesh.jsonfile import JsonFileError, MAX_DEPTH, MAX_INT_DIGITS, loads, read_json
from neuromesh.text import printable


def _refused(text_or_path, *needles, path="f.json"):
    with pytest.raises(JsonFileError) as e:
        if isinstance(text_or_path, str):
            loads(text_or_path, path)
        else:
            read_json(text_or_path)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{printable(e.value.path)}: "), msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def nested(depth, open_="[", close="]", inner="1"):
    return open_ * depth + inner + close * depth


@pytest.mark.parametrize("kind", ["list", "object", "mixed"])
def test_depth_limit_is_exact(kind):
    def build(depth):
        if kind == "list":
            return nested(depth)
        if kind == "object":
            return '{"a": ' * depth + "1" + "}" * depth
        text = "1"
        for level in range(depth):  # lists and objects alternating
            text = f"[{text}]" if level % 2 else f'{{"k": {text}}}'
        return text
    value = loads(build(MAX_DEPTH), "f.json")
    for _ in range(MAX_DEPTH):  # 32 levels down there is the 1
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    assert value == 1
    _refused(build(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels")


def test_depth_ignores_brackets_in_strings_and_escapes():
    deep_string = json.dumps({"name": "[" * 500 + '\\"{' * 100, "x": [[1]]})
    assert loads(deep_string, "f.json")["x"] == [[1]]
    # an escaped backslash before a quote ends the string: the brackets after it count
    text = '{"a": "\\\\", "b": ' + nested(MAX_DEPTH) + "}"
    _refused(text, "nested deeper")
    assert loads('{"a": "\\\\", "b": ' + nested(MAX_DEPTH - 1) + "}", "f.json")["a"] == "\\"


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_very_deep_nesting_is_one_line_not_recursion_error(depth):
    _refused(nested(depth), "nested deeper")
    _refused(nested(depth, "[", "", ""), "nested deeper")  # unbalanced as well


def test_unbalanced_brackets_are_malformed_not_deep():
    _refused("[" * 5 + "]" * 4, "malformed JSON")
    _refused("[" * 40 + "}" * 40, "malformed JSON")


def test_integer_digits_limit_is_exact():
    biggest = "9" * MAX_INT_DIGITS
    assert loads(f"[{biggest}, -{biggest}]", "f.json") == [int(biggest), -int(biggest)]
    _refused(f"[1, {'1' * (MAX_INT_DIGITS + 1)}]", f"integer of {MAX_INT_DIGITS + 1} digits")
    _refused('{"vth": 1' + "0" * 399 + "}", "integer of 400 digits")
    _refused("[" + "7" * 5000 + "]", "integer of 5000 digits")       # past Python's own 4300 limit
    # digits inside a string are not an integer
    assert loads('{"d": "' + "1" * 50 + '"}', "f.json") == {"d": "1" * 50}


@pytest.mark.parametrize("text,needle", [
    ('{"x": NaN}', "NaN is not allowed"), ('{"x": Infinity}', "Infinity is not allowed"),
    ('{"x": -Infinity}', "-Infinity is not allowed"), ('{"x": 1e400}', "overflows to infinity"),
    ('{"x": 1, "x": 2}', 'key "x" appears twice'), ('{"x": }', "line 1: malformed JSON"),
])
def test_not_json(text, needle):
    _refused(text, needle)


def test_finite_floats_pass():
    assert loads('{"pj": 23.6, "e": 1e-3}', "f.json") == {"pj": 23.6, "e": 0.001}


def test_file_kinds(tmp_path):
    _refused(tmp_path / "missing.json", "no such file")
    _refused(tmp_path, "is a directory")
    _refused(Path("/dev/zero"), "is a device, not a regular file")
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"name": "caf\xe9"}')
    _refused(bad, "not UTF-8 text (byte 13")


def test_fifo_is_refused_without_blocking(tmp_path):
    """Opening a FIFO for reading blocks until a writer comes: the reader must not open it."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            read_json(fifo)
        except JsonFileError as e:
            outcome.append(str(e))

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "w"):
            pass
        pytest.fail("read_json blocked on a FIFO")
    assert outcome and "is a FIFO, not a regular file" in outcome[0]


def test_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonfile, "MAX_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text("[" + " " * 97 + "1]")      # 100 bytes: accepted
    assert jsonfile.read_bytes(path, "network", jsonfile.MAX_BYTES) == path.read_bytes()
    path.write_text("[" + " " * 98 + "1]")      # 101 bytes
    with pytest.raises(JsonFileError, match="larger than 0 MiB: too large for a network"):
        jsonfile.read_bytes(path, "network", jsonfile.MAX_BYTES)


def test_names_in_messages_stay_one_line(tmp_path):
    path = tmp_path / "two\nlines\x1b[31m.json"
    path.write_text("[1,")
    msg = _refused(path, "malformed JSON")
    assert "two\\nlines\\x1b[31m.json" in msg


@pytest.mark.parametrize("raw,shown", [
    ("plain name", "plain name"), ("a\nb\tc\r", "a\\nb\\tc\\r"), ("\x1b[2J", "\\x1b[2J"),
    ("in\ud800", "in\\ud800"), ("\u202eevil", "\\u202eevil"), ("caf\u00e9 \u03bb", "caf\u00e9 \u03bb"),
    ("\x7f\x85", "\\x7f\\x85"), ("line\u2028sep", "line\\u2028sep"),
])
def test_printable(raw, shown):
    assert printable(raw) == shown
    printable(raw).encode("ascii" if shown.isascii() else "utf-8")  # encodable: no surrogate left


def test_gc_paused_holds_the_collector_off_and_restores_the_callers_state():
    import gc
    from neuromesh.gcpause import gc_paused
    assert gc.isenabled()
    with pytest.raises(KeyError):
        with gc_paused():
            assert not gc.isenabled()
            raise KeyError("the state comes back after an error too")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()   # a caller that had disabled it keeps it disabled
    finally:
        gc.enable()
