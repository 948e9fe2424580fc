"""Where flits go, without cycles: SPEC section 5's dimension-order routes are deterministic, so
how often each flit was sent fixes every router's per-output count, every link's load and every
crossing of an asynchronous link exactly (docs/architecture.md section 3: X first, then Y; a
host-bound flit is routed as if to tile (0, 0) and leaves there by the west port; a refused flit
is dropped by the first router it reaches and counted there).

Every stream of flits is a (source tile, destination tile) pair with a count; a pair's path adds
its count to a run of routers in one row (east or west) and then in one column (north or
south). Runs are added with difference arrays, so the cost is proportional to the number of
distinct streams plus the number of tiles, never to path lengths or to the flits themselves.
"""
from __future__ import annotations

import numpy as np

from neuromesh import spec

from .tables import DELIVER, HOST, REFUSED_CORE, REFUSED_ROUTER


def _runs(length: int, lines: np.ndarray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray,
          n_lines: int) -> np.ndarray:
    """counts[line, i] += count for lo <= i < hi, for every run; (n_lines, length) result."""
    diff = np.bincount(lines * (length + 1) + lo, weights=count, minlength=n_lines * (length + 1))
    diff -= np.bincount(lines * (length + 1) + hi, weights=count, minlength=n_lines * (length + 1))
    return np.cumsum(diff.reshape(n_lines, length + 1), axis=1)[:, :length]


def router_counts(params: spec.HwParams, src_tile, dst_tile, kind, count) -> tuple:
    """(fwd, router_errors, core_errors): `fwd[tile, port]` flits forwarded by each output of
    every router (spec.PORTS order), errors per router and per core, for flits entering at
    `src_tile` of `kind` (tables.DELIVER, HOST, REFUSED_ROUTER, REFUSED_CORE), each sent
    `count` times."""
    W, H, T = params.width, params.height, params.n_tiles
    src_tile = np.asarray(src_tile, dtype=np.int64)
    dst_tile = np.asarray(dst_tile, dtype=np.int64)
    kind = np.asarray(kind)
    count = np.asarray(count, dtype=np.float64)
    keep = count > 0
    src_tile, dst_tile, kind, count = src_tile[keep], dst_tile[keep], kind[keep], count[keep]
    router_errors = np.bincount(src_tile[kind == REFUSED_ROUTER], weights=count[kind == REFUSED_ROUTER],
                                minlength=T)
    core_errors = np.bincount(dst_tile[kind == REFUSED_CORE], weights=count[kind == REFUSED_CORE], minlength=T)
    moving = kind != REFUSED_ROUTER
    s, d, k, c = src_tile[moving], dst_tile[moving], kind[moving], count[moving]
    sx, sy, tx, ty = s % W, s // W, d % W, d // W
    fwd = np.zeros((T, spec.N_PORTS))
    # X first, along row sy: east through routers sx .. tx-1, west through tx+1 .. sx
    east, west = tx > sx, tx < sx
    fwd[:, spec.EAST] = _runs(W, sy[east], sx[east], tx[east], c[east], H).reshape(T)
    fwd[:, spec.WEST] = _runs(W, sy[west], tx[west] + 1, sx[west] + 1, c[west], H).reshape(T)
    # then Y, along column tx: north through sy .. ty-1, south through ty+1 .. sy
    north, south = ty > sy, ty < sy
    fwd[:, spec.NORTH] = _runs(H, tx[north], sy[north], ty[north], c[north], W).T.reshape(T)
    fwd[:, spec.SOUTH] = _runs(H, tx[south], ty[south] + 1, sy[south] + 1, c[south], W).T.reshape(T)
    # the last router: into its core, or (host-bound, at (0, 0)) out of the west port
    local = (k == DELIVER) | (k == REFUSED_CORE)
    fwd[:, spec.LOCAL] = np.bincount(d[local], weights=c[local], minlength=T)
    fwd[0, spec.WEST] += c[k == HOST].sum()
    return np.rint(fwd).astype(np.int64), np.rint(router_errors).astype(np.int64), \
        np.rint(core_errors).astype(np.int64)


def links(params: spec.HwParams, fwd: np.ndarray, partition=None, host_in: int = 0) -> list:
    """Flits per directed link, in the golden model's `links` format (sim/mesh.py
    `Chip.link_loads`): a router-to-router link whose ends are in different clock domains
    (`partition`: the domain of every tile, `spec.Clocks.partition`) is marked
    `"asynchronous": true` with its `"crossed"` count (every flit forwarded on it crosses)."""
    out = [{"from": "host", "to": [0, 0], "port": "spike_in", "flits": int(host_in)}]
    for k, (x, y) in enumerate(params.tiles()):
        for port in (spec.NORTH, spec.EAST, spec.SOUTH, spec.WEST):
            dx, dy = spec.PORT_DELTA[port]
            nx, ny = x + dx, y + dy
            if 0 <= nx < params.width and 0 <= ny < params.height:
                n = ny * params.width + nx
                entry = {"from": [x, y], "to": [nx, ny], "port": spec.PORTS[port], "flits": int(fwd[k, port])}
                if partition is not None and partition[k] != partition[n]:
                    entry.update(asynchronous=True, crossed=int(fwd[k, port]))
                out.append(entry)
            elif (x, y, port) == (0, 0, spec.WEST):
                out.append({"from": [0, 0], "to": "host", "port": "spike_out", "flits": int(fwd[0, port])})
    return out
