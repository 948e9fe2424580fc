"""The board host without a board or Verilator: the wire format against frames worked out by hand
(docs/board.md), the link against a Python model of the bridge over the golden chip
(tests/board_model.py: a slow board that reports an OVERRUN if the host sends past its window),
the termios transport and `neuromesh run --engine board` through a pseudo-terminal, and the
one-line refusals."""
import json
from pathlib import Path

import pytest

from board_model import GoldenBridge, ModelTransport, serve_pty
from neuromesh import spec
from neuromesh.host import HostBehaviour
from neuromesh.tools.board import engine, protocol as proto
from neuromesh.tools.board.link import BoardLink
from neuromesh.tools.board.transport import BoardError, SerialTransport
from neuromesh.tools.cli import main

TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny"
x = bytes.fromhex


# -- wire format ------------------------------------------------------------------------------

def test_crc8_check_value():
    """CRC-8/SMBUS (poly 0x07, init 0): the catalogue's check value for "123456789" is 0xF4."""
    assert proto.crc8(b"123456789") == 0xF4
    assert proto.crc8(b"") == 0


@pytest.mark.parametrize("frame,expected", [
    (proto.info(0), "a5 01 01 00 7e"),
    (proto.write(1, 0x12345678), "a5 02 08 01 00 00 00 78 56 34 12 0a"),
    (proto.read(1), "a5 03 04 01 00 00 00 e2"),
    (proto.tick(), "a5 05 00 41"),
    (proto.frame(proto.Response.ACK, b"\x02"), "a5 81 01 02 7b"),
    (proto.frame(proto.Response.ERROR, b"\x01\x01"), "a5 85 02 01 01 bb"),
])
def test_frames_by_hand(frame, expected):
    """CRC bytes worked out by polynomial long division, outside the code under test."""
    assert frame == x(expected)


def test_frame_sizes_are_the_lengths():
    for cmd in proto.Command:
        assert proto.frame_bytes(cmd) == 4 + proto.COMMAND_LEN[cmd]
    assert len(proto.write(0, 0)) == proto.frame_bytes(proto.Command.WRITE) == 12
    assert proto.frame_bytes(proto.Response.OUT) == 12


def test_encoders_refuse_out_of_range():
    with pytest.raises(ValueError, match="32-bit"):
        proto.write(1 << 32, 0)
    with pytest.raises(ValueError, match="flit"):
        proto.spike(-1)
    with pytest.raises(ValueError, match="byte"):
        proto.info(256)


def test_parser_any_split():
    """Frames arrive in any pieces: the same frames come out."""
    stream = x("a5 82 04 01 42 4d 4e 28") + x("a5 84 08 05 00 10 00 ff ff ff ff") + bytes([proto.crc8(x("84 08 05 00 10 00 ff ff ff ff"))])
    for cut in range(len(stream) + 1):
        p = proto.Parser()
        frames = p.feed(stream[:cut]) + p.feed(stream[cut:])
        assert [f.fields() for f in frames] == [(0x4E4D4201,), (0x100005, 0xFFFFFFFF)]
        assert p.pending == 0


@pytest.mark.parametrize("data,needle", [
    (x("00"), "outside a frame"),
    (x("a5 82 04 01 42 4d 4e 29"), "bad checksum"),
    (x("a5 99 00") + bytes([proto.crc8(x("99 00"))]), "unknown response code 0x99"),
    (x("a5 82 01 00") + bytes([proto.crc8(x("82 01 00"))]), "WORD frame with 1 payload bytes"),
])
def test_parser_refuses(data, needle):
    with pytest.raises(proto.FrameError, match=needle):
        proto.Parser().feed(data)


# -- the link against the model bridge ----------------------------------------------------------

SMALL = spec.HwParams(width=1, height=1, neurons_per_core=4, axons_per_core=4, synapses_per_core=8,
                      routes_per_core=4, fifo_depth=1)


@pytest.mark.parametrize("rx_depth", [16, 17, 40])
def test_window_keeps_the_fifo_from_overflowing(rx_depth):
    """A board that executes one frame per read: the link never has more unanswered bytes on
    the line than the bridge's FIFO holds, and every write is answered in order."""
    bridge = GoldenBridge(SMALL, rx_depth=rx_depth)
    t = ModelTransport(bridge, steps_per_read=1)
    link = BoardLink(t)
    link.hello()
    assert link.window == rx_depth
    pairs = [(spec.tile_addr(0, 0, "param", i % 8), i) for i in range(200)]
    link.writes(pairs)
    assert bridge.overruns == 0
    assert bridge.commands >= 1 + len(proto.INFO) + 200
    # The last word written to each address reads back.
    last = dict(pairs)
    masked = {a: d & spec.region_word(SMALL, "param", a & 0xFFFF).mask for a, d in last.items()}
    assert link.reads(list(masked)) == list(masked.values())


def test_a_host_past_its_window_hears_of_it():
    """The model is not lenient: bytes past its FIFO are an OVERRUN, which stops the link."""
    bridge = GoldenBridge(SMALL, rx_depth=16)
    t = ModelTransport(bridge, steps_per_read=1)
    link = BoardLink(t)
    link.hello()
    link.window = 64          # a host that believes the FIFO is larger than it is
    with pytest.raises(BoardError, match="overrun"):
        link.writes([(spec.tile_addr(0, 0, "param", 0), 0)] * 20)


def test_stamps_extend_past_32_bits():
    """The bridge's counter starts 100 cycles before it wraps: stamps are extended across the
    wrap, and a DONE's handshake (older than the OUT frames before it) stays before them."""
    net_run = _tiny_inputs()
    params, writes, inputs = net_run
    bridge = GoldenBridge(params, stamp_offset=(1 << 32) - 100)
    run = engine.run_on(ModelTransport(bridge), params, writes, inputs)
    assert run.completions[-1] > 100
    for h, q in zip(run.handshakes, run.completions):
        assert 0 <= h < q
    assert all(0 <= c < run.completions[-1] for c, _ in run.out_flits)
    assert [c for c, _ in run.out_flits] == sorted(c for c, _ in run.out_flits)


def _tiny_inputs():
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import load_network, load_stimulus
    from neuromesh.result import tick_inputs
    net = load_network(TINY / "network.json")
    stim = load_stimulus(TINY / "stimulus.json", net)
    compiled = compile_network(net)
    return compiled.params, compiled.writes, tick_inputs(stim.spikes, compiled.map["inputs"], stim.ticks)


def test_engine_on_the_model_equals_golden():
    """The whole board run (INFO, RESET, load + verify, ZERO, stimulus, counters) through the
    model bridge gives the golden engine's spikes and counters (examples/tiny, 2x2)."""
    from neuromesh.sim import engine as golden
    params, writes, inputs = _tiny_inputs()
    run = engine.run_on(ModelTransport(GoldenBridge(params), steps_per_read=2), params, writes, inputs)
    gold = golden.run(params, writes, inputs)
    assert sorted(f for _, f in run.out_flits) == sorted(f for _, f in gold.out_flits)
    assert run.counters["cores"] == gold.counters["cores"]
    assert run.counters["routers"] == gold.counters["routers"]
    assert run.counters["chip"]["ticks"] == len(inputs)
    assert run.host_flits == gold.host_flits == sum(len(t) for t in inputs)
    assert run.extras["board"]["cycle_exact"] is False


def test_error_frames_stop_the_run():
    """A frame damaged on the way to the board is answered with ERROR CHECKSUM: one line."""
    bridge = GoldenBridge(SMALL)
    link = BoardLink(ModelTransport(bridge))
    link.hello()
    bad = bytearray(proto.write(spec.tile_addr(0, 0, "param", 0), 7))
    bad[-1] ^= 0xFF
    with pytest.raises(BoardError, match=r"bad checksum \(a frame of code 0x02\)"):
        link.transact([(proto.Command.WRITE, bytes(bad))])


def test_damaged_answer_stops_the_run():
    """A byte flipped on the way back: the link says the frame was damaged."""
    bridge = GoldenBridge(SMALL)
    flip = lambda data: bytes(b ^ 0x10 if i == 4 else b for i, b in enumerate(data))
    link = BoardLink(ModelTransport(bridge))
    link.hello()
    link.transport.tamper = flip
    with pytest.raises(BoardError, match="damaged frame from the board: bad checksum"):
        link.reads([spec.chip_addr("id")])


def test_out_of_step_answer():
    """An answer of the wrong kind (an ACK where a READ expects a WORD) is refused."""
    bridge = GoldenBridge(SMALL)
    link = BoardLink(ModelTransport(bridge))
    link.hello()
    with pytest.raises(BoardError, match="READ answered by ACK"):
        link.transact([(proto.Command.READ, proto.write(spec.tile_addr(0, 0, "param", 0), 0))])


class _Silent(ModelTransport):
    def read(self, timeout):
        return b""


def test_silent_line():
    link = BoardLink(_Silent(GoldenBridge(SMALL)), timeout=0.01)
    with pytest.raises(BoardError, match="no NeuroMesh bridge answers"):
        link.hello()


def test_params_must_match_the_board():
    params, writes, inputs = _tiny_inputs()
    other = spec.HwParams(**{**params.to_dict(), "neurons_per_core": 16})
    with pytest.raises(BoardError, match=r"neurons_per_core 8 \(network\) vs 16 \(board\)"):
        engine.run_on(ModelTransport(GoldenBridge(other)), params, writes, inputs)


@pytest.mark.parametrize("host,needle", [(HostBehaviour(out_ready_prob=0.5), "--out-ready"),
                                         (HostBehaviour(max_gap=2), "--max-gap")])
def test_seeded_host_refused(host, needle):
    params, writes, inputs = _tiny_inputs()
    with pytest.raises(BoardError, match=needle):
        engine.run_on(ModelTransport(GoldenBridge(params)), params, writes, inputs, host)


# -- a real tty: the termios transport and the command line ------------------------------------

def test_cli_over_a_pty(tmp_path, capsys):
    """`neuromesh run --engine board --port PTY` with the model bridge behind a pseudo-terminal:
    the result JSON has the golden engine's spikes."""
    params, _writes, _inputs = _tiny_inputs()
    path, close = serve_pty(GoldenBridge(params))
    try:
        out = tmp_path / "board.json"
        assert main(["run", str(TINY / "network.json"), "--stimulus", str(TINY / "stimulus.json"),
                     "-o", str(out), "--engine", "board", "--port", path, "-q"]) == 0
    finally:
        close()
    gold = tmp_path / "golden.json"
    assert main(["run", str(TINY / "network.json"), "--stimulus", str(TINY / "stimulus.json"),
                 "-o", str(gold), "-q"]) == 0
    rb, rg = json.loads(out.read_text()), json.loads(gold.read_text())
    assert rb["engine"] == "board" and rb["spikes"] == rg["spikes"]
    assert rb["counters"]["cores"] == rg["counters"]["cores"]
    assert rb["board"]["line"] == f"{path} at {proto.DEFAULT_BAUD} baud"


def test_serial_transport_on_a_pty():
    import os
    import tty
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        with SerialTransport(os.ttyname(slave), 115200) as t:
            t.write(b"\x00\xa5\xff")
            assert os.read(master, 16) == b"\x00\xa5\xff"        # raw: no byte translated
            os.write(master, b"\r\n\x03\x11")
            assert t.read(1.0) == b"\r\n\x03\x11"                # no CR/LF mapping, no signals
            assert t.read(0) == b""
    finally:
        os.close(master)
        os.close(slave)


def _one_line_error(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize("extra,needles", [
    (["--port", "/nonexistent/ttyUSB9"], ("--port /nonexistent/ttyUSB9: cannot open", "No such file")),
    (["--port", "/dev/null"], ("--port /dev/null: not a serial port",)),
    ([], ("--port: the board engine needs the board's serial port",)),
    (["--port", "/dev/null", "--baud", "12345"], ("--baud: 12345 is not a standard serial rate",)),
    (["--port", "/dev/null", "--out-ready", "0.5"], ("--out-ready: the board engine cannot",)),
])
def test_cli_board_refusals(capsys, tmp_path, extra, needles):
    out = tmp_path / "r.json"
    _one_line_error(capsys, ["run", str(TINY / "network.json"), "--stimulus", str(TINY / "stimulus.json"),
                             "-o", str(out), "--engine", "board", *extra], *needles)
    assert not out.exists()


def test_cli_port_needs_the_board_engine(capsys, tmp_path):
    _one_line_error(capsys, ["run", str(TINY / "network.json"), "--stimulus", str(TINY / "stimulus.json"),
                             "-o", str(tmp_path / "r.json"), "--port", "/dev/ttyUSB0"],
                    "--port: only --engine board talks to a serial port")
