"""The board room: running the chip on an FPGA board through the UART host bridge
(docs/board.md). Gateware is in `neuromesh.hw` (`uart`, `host_bridge`, `uart_chip`, `board_top`).

- `protocol`: the wire format, defined once (the gateware is built from it);
- `transport`: byte transports (a serial port opened with termios, no pyserial);
- `link`: the protocol client: windowed commands, in-order responses, spike_out frames;
- `engine`: `run(...)`, the engine behind `neuromesh run --engine board`;
- `bitstream`: `make bitstream BOARD=ulx3s|icebreaker` (amaranth-boards + the yowasp tools).
"""
