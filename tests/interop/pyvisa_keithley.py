"""Interoperability check: PyVISA (pyvisa + pyvisa-py) drives the simulated Keithley 2460
over a raw TCP socket with the command sequences of the 2450/2460 reference manual, as a
lab script would drive the real instrument. Run by .ci/run when Python is available:

    python3 tests/interop/pyvisa_keithley.py target/debug/pvstation
"""

import json
import subprocess
import sys

import pyvisa


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
        rm = pyvisa.ResourceManager("@py")
        smu = rm.open_resource(
            served["smu"], read_termination="\n", write_termination="\n", timeout=20000
        )
        idn = smu.query("*IDN?")
        assert idn.startswith("KEITHLEY INSTRUMENTS,MODEL 2460,"), idn

        # Reference manual 2450-901-01 p. 6-78, list sweep example, verbatim except the
        # current limit: the simulated SMU is wired to a PV module in the sun (~5.7 A), and
        # with the manual's 1 A the default failAbort ON would stop the list at once, as the
        # real instrument would.
        for cmd in [
            "*RST",
            'SENS:FUNC "CURR"',
            "SENS:CURR:RANG:AUTO ON",
            "SENS:CURR:RSEN OFF",
            "SOUR:FUNC VOLT",
            "SOUR:VOLT:RANG 20",
            "SOUR:VOLT:ILIM 7",
            "SOUR:LIST:VOLT 1, 5, 1, 5, 1, 5",
            "SOUR:SWE:VOLT:LIST 1, 0.2",
            "INIT",
            "*WAI",
        ]:
            smu.write(cmd)
        data = smu.query('TRAC:DATA? 1, 6, "defbuffer1", SOUR, READ')
        values = [float(v) for v in data.split(",")]
        assert len(values) == 12, data
        assert [round(v) for v in values[0::2]] == [1, 5, 1, 5, 1, 5], data
        # The module drives current into the SMU: negative, a few amperes.
        assert all(-7.0 <= i < -1.0 for i in values[1::2]), data

        # PV I-V sequence (instruments.md §2.1): 4-wire, linear sweep into the 4th quadrant.
        for cmd in [
            "*RST",
            "*CLS",
            ':SENS:FUNC "CURR"',
            ":SENS:CURR:RANG:AUTO ON",
            ":SENS:CURR:NPLC 0.1",
            ":SENS:CURR:RSEN ON",
            ":SOUR:FUNC VOLT",
            ":SOUR:VOLT:RANG 70",
            ":SOUR:VOLT:ILIM 7",
            ":SOUR:VOLT:READ:BACK ON",
            ':SOUR:SWE:VOLT:LIN 0, 62, 21, 0.001, 1, BEST, OFF, OFF, "defbuffer1"',
            ":INIT",
        ]:
            smu.write(cmd)
        assert smu.query("*OPC?").strip() == "1"
        assert int(smu.query(":TRAC:ACT?")) == 21
        data = smu.query(':TRAC:DATA? 1, 21, "defbuffer1", SOUR, READ')
        values = [float(v) for v in data.split(",")]
        volts, amps = values[0::2], values[1::2]
        assert len(volts) == 21 and abs(volts[0]) < 0.01 and abs(volts[-1] - 62) < 0.01, data
        assert amps[0] < -1.0 and amps[-1] > 0.0, data  # power quadrant, then beyond Voc

        # The same buffer as binary REAL,64, least significant byte first.
        smu.write(":FORM REAL")
        smu.write(":FORM:BORD SWAP")
        binary = smu.query_binary_values(
            ':TRAC:DATA? 1, 21, "defbuffer1", READ', datatype="d", is_big_endian=False
        )
        smu.write(":FORM ASC")
        assert len(binary) == 21 and all(
            abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(binary, amps)
        ), (binary, amps)

        smu.write(":OUTP OFF")
        assert smu.query(":SYST:ERR?").startswith("0,"), "error queue not empty"
        smu.write(":SOUR:VOLT:ILIM 99")
        err = smu.query(":SYST:ERR?")
        assert err.startswith("-222,"), err
        print(f"PyVISA interop: OK ({idn.strip()}, {len(volts)}-point sweep, ASCII and REAL,64)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
