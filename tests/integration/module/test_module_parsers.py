"""Fuzz of the store module's parsers: the pure C code that reads tensor values, stored
model headers, VALUES arguments and names (``src/insitu/store/module/tensor.c``,
``record.c``) is built with AddressSanitizer and UBSan beside a driver
(``parser_fuzz.c``) and fed valid values, mutations of them and random bytes. Any invalid
memory access, integer overflow or leak aborts the driver."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from insitu.wire.model_record import ModelHeader, format_header
from insitu.wire.tensors import DTYPES, encode_tensor

HERE = Path(__file__).resolve().parent
MODULE = HERE.parents[2] / "src" / "insitu" / "store" / "module"
TENSOR, HEADER, VALUE, NAME = 0, 1, 2, 3


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("fuzz") / "parser_fuzz"
    sources = [HERE / "parser_fuzz.c", MODULE / "tensor.c", MODULE / "record.c"]
    subprocess.run(
        [gcc, "-std=c11", "-D_GNU_SOURCE", "-g", "-O1", "-fsanitize=address,undefined",
         "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", f"-I{MODULE}",
         *map(str, sources), "-lm", "-o", str(out)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    return out


def _valid_tensors(rng: random.Random) -> list[bytes]:
    values = []
    for _, dtype in DTYPES.values():
        for shape in ((), (0,), (3,), (2, 3), (1, 2, 2, 1)):
            array = (np.arange(int(np.prod(shape))) % 5).astype(dtype).reshape(shape)
            values.append(encode_tensor(array).to_bytes())
            if len(shape) > 1:
                values.append(encode_tensor(np.asfortranarray(array)).to_bytes())
    values.append(b"ISTN\x01\x02\x00\x02" + struct.pack("<2Q", 2**62, 2**62))  # overflow
    values.append(b"ISTN\x01\x02\x00\x40" + struct.pack("<64Q", *([1] * 64)) + bytes(4))
    rng.shuffle(values)
    return values


def _valid_headers() -> list[bytes]:
    return [
        format_header(ModelHeader("model", "ONNX", "CPU", inputs=("a", "b"), outputs=("y",),
                                  version="v" * 32, size=10, chunks=1)),
        format_header(ModelHeader("script", "TORCH", "GPU:1", tag="t\u00e9\"\\", size=0)),
        b'{"format":"insitu-model/1"}',
        b"{}",
    ]  # fmt: skip


def _mutate(rng: random.Random, value: bytes) -> bytes:
    data = bytearray(value)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.6 and data:
            del data[rng.randrange(len(data)) :]
        elif choice < 0.8:
            at = rng.randint(0, len(data))
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        elif data:
            at = rng.randrange(len(data))
            data[at : at + 8] = struct.pack("<Q", rng.choice([0, 1, 2**32, 2**63, 2**64 - 1]))
    return bytes(data)


def _corpus(seed: int, count: int) -> tuple[bytes, int]:
    rng = random.Random(seed)
    seeds = {
        TENSOR: _valid_tensors(rng),
        HEADER: _valid_headers(),
        VALUE: [bytes([c]) + t for c in range(12) for t in (b"1", b"-3.5e2", b"nan", b"x1")],
        NAME: [b"FLOAT", b"double", b"UINT64", b"", b"\xc3\xa9", b"a\x00b"],
    }
    out = bytearray()
    cases = 0
    for kind, values in seeds.items():
        for value in values:  # every valid value as it is, then mutated and random
            out += bytes([kind]) + struct.pack("<I", len(value)) + value
            cases += 1
    for _ in range(count):
        kind = rng.choice(list(seeds))
        if rng.random() < 0.85:
            value = _mutate(rng, rng.choice(seeds[kind]))
        else:
            value = rng.randbytes(rng.randint(0, 96))
        out += bytes([kind]) + struct.pack("<I", len(value)) + value
        cases += 1
    return bytes(out), cases


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parsers_survive_fuzzed_input(driver: Path, seed: int) -> None:
    corpus, cases = _corpus(seed, 6000)
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}  # fmt: skip
    done = subprocess.run(
        [str(driver)], input=corpus, capture_output=True, timeout=240, env=env, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
    total, valid = map(int, done.stdout.split())
    assert total == cases
    assert 0 < valid < total  # both valid and invalid inputs were exercised
