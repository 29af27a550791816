"""Interoperability check: pymodbus (PyPI), an outside Modbus client, reads the simulated
Kipp & Zonen SMP10 over Modbus TCP as a lab script would read the real sensor (input registers
per the Smart Pyranometer Communications Manual: device type at 0, scale factor at 4,
irradiance at 5), and the reading agrees with the same sky seen through the station's
reference cell (read with PyVISA from the simulated Keysight 34465A across its shunt) within
the pyranometer's stated accuracy (±1.5 % of reading ±3 W/m²), the cell's temperature effect
(α_rel 0.05 %/K over the cell's ~20 K above 25 °C) and the spectral difference between a
spectrally flat thermopile and a c-Si cell under the thin, dry plateau sky (the simulated
world's cell reads 3-4 % below the thermopile at noon: the near infrared beyond silicon's
band edge that a thermopile sees; sim/sky.rs). The Rust tests check the register against the
world's truth to the register's resolution. Run by .ci/run:

    python3 tests/interop/pymodbus_smp10.py target/debug/pvstation
"""

import json
import subprocess
import sys

import pyvisa
from pymodbus.client import ModbusTcpClient

CV = 0.1213  # A, RC-01's calibration value (demo station file)
SHUNT = 1.0002  # ohm


def start_sim(binary):
    proc = subprocess.Popen(
        [binary, "sim", "--ephemeral", "--seed", "7", "--speed", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    served = {}
    for line in proc.stdout:
        obj = json.loads(line)
        if obj.get("ready"):
            return proc, served
        served[obj["name"]] = obj["resource"]
    raise SystemExit("pvstation sim exited before it was ready")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/pvstation"
    proc, served = start_sim(binary)
    try:
        kind, host, port, unit = served["poa-pyranometer"].split("::")
        assert kind == "MODBUS-TCP", served["poa-pyranometer"]
        client = ModbusTcpClient(host, port=int(port))
        assert client.connect(), "cannot connect to the simulated SMP10"
        try:
            regs = client.read_input_registers(0, count=6, device_id=int(unit))
        except TypeError:  # pymodbus < 3.9 names it `slave`
            regs = client.read_input_registers(0, count=6, slave=int(unit))
        assert not regs.isError(), regs
        device_type, status, scale = regs.registers[0], regs.registers[3], regs.registers[4]
        raw = regs.registers[5] - 65536 if regs.registers[5] >= 32768 else regs.registers[5]
        scale = scale - 65536 if scale >= 32768 else scale
        irradiance = raw / 10**scale
        assert device_type == 610, device_type
        assert status == 0, status
        client.close()

        rm = pyvisa.ResourceManager("@py")
        dmm = rm.open_resource(served["irradiance-dmm"], read_termination="\n",
                               write_termination="\n", timeout=20000)
        shunt_v = float(dmm.query("MEAS:VOLT:DC? 1"))
        cell = shunt_v / SHUNT / CV * 1000.0
        tolerance = 0.015 * irradiance + 3.0 + 0.0005 * 20.0 * irradiance + 0.045 * irradiance
        print(f"pymodbus interop: OK (SMP10 device type {device_type}, {irradiance:.1f} W/m^2; "
              f"reference cell {cell:.1f} W/m^2; |difference| {abs(irradiance - cell):.1f} <= {tolerance:.1f})")
        assert abs(irradiance - cell) <= tolerance, (irradiance, cell, tolerance)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
