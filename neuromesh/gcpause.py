"""`gc_paused()`: the cyclic garbage collector held off while a step builds a large tree of
containers that holds no reference cycles (a parsed JSON file, a result's lists of spikes and
output flits). Each container allocated counts towards the collector's next pass, and each pass
walks every young object; on the 8 x 8 network of issue 13 those passes cost a fifth of the
functional engine's time (docs/scale.md section 3). Reference counting still frees everything
at once; the collector runs as usual afterwards. The previous state is restored (a caller that
had disabled the collector keeps it disabled)."""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
