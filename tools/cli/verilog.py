"""`neuromesh verilog -o FILE [hardware options] [--image IMAGE]`: write the chip's Verilog
(module `neuromesh_chip`, ports as SPEC section 6).

With `--image`, the memories of every core start with the image's contents (an FPGA then boots
with the network loaded): each write of the image is decoded with `spec.decode_addr` into
(tile, region, offset) and handed to that tile's core as its `init`. Without hardware options
the image's own `# hardware:` header gives the parameters; with them, they must agree.
"""
from __future__ import annotations

from neuromesh import spec
from neuromesh.outputs import write_text_atomic
from neuromesh.text import printable

HW_FIELDS = tuple(spec.LIMITS)
# The command-line flag of each field (tools/cli/__init__.py), for error messages.
FLAGS = {"width": "--width", "height": "--height", "neurons_per_core": "--neurons", "axons_per_core": "--axons",
         "synapses_per_core": "--synapses", "routes_per_core": "--routes", "fifo_depth": "--fifo-depth"}


def params_from_options(given: dict) -> spec.HwParams:
    try:
        return spec.HwParams(**given)
    except spec.ConfigError as e:
        raise spec.ConfigError(FLAGS.get(e.field, e.field), e.value, e.reason) from None


def given_params(args) -> dict:
    return {k: getattr(args, k) for k in HW_FIELDS if getattr(args, k, None) is not None}


def image_init(params: spec.HwParams, writes) -> dict:
    """[(addr, data)] -> {(x, y): {region: {offset: word}}}; a later write to an address wins."""
    init: dict = {}
    for addr, data in writes:
        d = spec.decode_addr(params, addr)
        if d.x is None or not d.writable:
            raise spec.ConfigError("image", f"{addr:#010x}", f"region {d.region} cannot be initialised")
        init.setdefault((d.x, d.y), {}).setdefault(d.region, {})[d.offset] = data
    return init


def verilog_command(args) -> int:
    from neuromesh.hw.mesh import chip_verilog
    given = given_params(args)
    init = None
    if args.image:
        from neuromesh.firmware.image import image_params, read_image
        params = params_from_options(given) if given else image_params(args.image)
        init = image_init(params, read_image(args.image, params))
    else:
        params = params_from_options(given)
    from neuromesh.tools.cli.clocks import clocks_from_args
    clocks = clocks_from_args(args, params) or spec.Clocks()
    text = chip_verilog(params, init, partition=clocks.partition(params))
    out = write_text_atomic(args.output, text)  # whole or not at all
    print(f"wrote {printable(out)}: module neuromesh_chip, {params.width}x{params.height} mesh, "
          f"{params.neurons_per_core} neurons/core, FIFO depth {params.fifo_depth}"
          + (f", {clocks.n_domains} clock domains (clk, clk_1 .. clk_{clocks.n_domains - 1})"
             if clocks.n_domains > 1 else "")
          + (f", memories from {printable(args.image)}" if args.image else ""))
    return 0
