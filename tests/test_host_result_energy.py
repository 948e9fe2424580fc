"""The standard host and the shared result builder (energy: tests/test_energy.py)."""
import pytest

from neuromesh import spec
from neuromesh.host import HostBehaviour
from neuromesh.result import tick_inputs, tick_of


def test_host_behaviour_is_a_pure_function_of_seed_and_index():
    a, b = HostBehaviour(seed=3, out_ready_prob=0.5, max_gap=4), HostBehaviour(seed=3, out_ready_prob=0.5, max_gap=4)
    assert [a.out_ready(c) for c in range(200)] == [b.out_ready(c) for c in reversed(range(200))][::-1]
    ready = [a.out_ready(c) for c in range(4000)]
    assert 0.4 < sum(ready) / len(ready) < 0.6
    gaps = [a.gap(i) for i in range(2000)]
    assert min(gaps) == 0 and max(gaps) == 4
    other = [HostBehaviour(seed=4, out_ready_prob=0.5).out_ready(c) for c in range(200)]
    assert other != [a.out_ready(c) for c in range(200)]  # the seed matters
    assert all(HostBehaviour().out_ready(c) for c in range(100))
    assert all(HostBehaviour().gap(i) == 0 for i in range(100))
    with pytest.raises(ValueError):
        HostBehaviour(out_ready_prob=0)


def test_tick_inputs_expand_spikes_to_map_flits_in_stimulus_order():
    inputs_map = {"in": [[10, 11], [20]], "cue": [[30]]}
    stim = {"in": [[2, 1], [1, 0], [2, 0]], "cue": [[1, 0]]}
    assert tick_inputs(stim, inputs_map, 3) == [[10, 11, 30], [20, 10, 11], []]


def test_tick_phases_cover_every_cycle_up_to_the_last_completion():
    # phases [0, 8) and [8, 20): cycle 9 is before tick 2's handshake but in its phase
    assert tick_of(0, [8, 20]) == 1
    assert tick_of(7, [8, 20]) == 1
    assert tick_of(8, [8, 20]) == 2
    assert tick_of(19, [8, 20]) == 2
    with pytest.raises(ValueError):
        tick_of(20, [8, 20])


def _counters(p):
    zero_core = {n: 0 for n in spec.CORE_COUNTERS}
    zero_router = {n: 0 for n in spec.ROUTER_COUNTERS}
    cores = [dict(zero_core) for _ in range(p.n_tiles)]
    routers = [dict(zero_router) for _ in range(p.n_tiles)]
    return {"chip": {"ticks": 0, "busy_cycles": 0}, "cores": cores, "routers": routers}


def test_build_result_places_a_host_loopback_flit_before_the_handshake_in_its_phase():
    from neuromesh.result import EngineRun, build_result
    p = spec.HwParams(width=1, height=1, neurons_per_core=4)
    c = _counters(p)
    loop = spec.host_flit(9, 0, 0)        # the host sent it on spike_in: no neuron fired it
    fired = spec.host_flit(2, 0, 0)       # neuron at slot 2 of "out"
    run = EngineRun(out_flits=[(3, loop), (24, fired)], handshakes=[5, 12], completions=[11, 30],
                    counters=c, host_flits=1)
    chip_map = {"outputs": {str(fired): ["out", 1]}, "placement": {"out": [[0, 0, 0], [0, 0, 2]]}}
    pops = [{"name": "out", "kind": "lif", "record": True}]
    r = build_result(run, engine="golden", params=p, chip_map=chip_map, populations=pops,
                     stimulus={}, ticks=2)
    assert [f["tick"] for f in r["output_flits"]] == [1, 2]
    assert r["spikes"] == {"out": [[2, 1]]}
    # fired in s_2 + 1 + UPDATE_LATENCY + slot (architecture 4.3), s_2 = h_2 + 1 the start
    # pulse (section 5): 13 + 1 + 6 + 2 = 22
    assert spec.UPDATE_LATENCY == 6
    assert r["output_flits"][1]["latency"] == 24 - 22
    assert r["stats"]["tick_cycles"] == [6, 18] and r["stats"]["cycles"] == 30


def _drive(sh, busy_cycles, last=100):
    """Drive a StandardHost against a scripted chip: `busy` in the given cycles, spike_in and
    tick always ready when allowed. Returns the cycles of the accepted input flits."""
    from neuromesh.host import StandardHost  # noqa: F401 - the class under test
    accepted = []
    for k in range(last):
        busy = k in busy_cycles
        if not sh.begin(k, busy):
            break
        if sh.tick_valid(k) and not busy:
            sh.handshake(k)
        flit = sh.offer(k)
        if flit is not None:
            sh.accepted(k)
            accepted.append((k, flit))
    return accepted


def test_standard_host_phases_by_hand():
    from neuromesh.host import StandardHost
    sh = StandardHost([[10, 20], []])
    # flits accepted in 0 and 1; tick.valid from 2 but busy until 3; tick 1 busy 4..8;
    # tick 2 has no input: valid from q_1 = 9, handshake there; busy 10..11, q_2 = 12.
    accepted = _drive(sh, busy_cycles={1, 2, 4, 5, 6, 7, 8, 10, 11})
    assert accepted == [(0, 10), (1, 20)]
    assert sh.handshakes == [3, 9] and sh.completions == [9, 12] and sh.host_flits == 2
    assert sh.done and not sh.begin(13, False)


def test_standard_host_gap_index_runs_over_the_whole_run():
    from neuromesh.host import StandardHost

    class Gaps(HostBehaviour):
        def gap(self, i):
            return i + 1          # 1 before the run's first flit, 2 before its second, ...

    sh = StandardHost([[7], [8]], Gaps())
    # tick 1: offered from 0 + gap(0) = 1, accepted 1, valid from 2 -> handshake 2, busy 3, q_1 = 4;
    # tick 2: offered from 4 + gap(1) = 6 (index 1, not restarted), handshake 7, q_2 = 8.
    accepted = _drive(sh, busy_cycles={3})
    assert accepted == [(1, 7), (6, 8)]
    assert sh.handshakes == [2, 7] and sh.completions == [4, 8]
