"""Accelerators: dense peak FLOP/s by precision, memory and power, each from its vendor's published figures.

Peak FLOP/s are *dense*: NVIDIA's and AMD's datasheets print tensor-core figures "with sparsity" (2:4 structured
sparsity, which training does not use); those are halved here, and the entry's ``notes`` say so. Memory is in
bytes (the vendor's "GB" taken as 1e9 bytes, Google's "GiB" as 2^30). Power is the maximum board/module power
(TDP) of the accelerator alone: host CPUs, memory, network and storage are not counted, nor cooling (that is
the PUE's part). Google publishes no per-chip power for Cloud TPU v5e or v5p: those entries have ``power_watts``
None, and energy needs a power given explicitly.

An accelerator of your own comes from a JSON object (``load_accelerator``)::

    {"name": "my-gpu", "peak_flops_per_second": {"bf16": 1.0e15, "fp8": 2.0e15},
     "memory_gb": 96, "power_watts": 800, "source": "vendor datasheet, 2026"}

Example:
  >>> accelerator("a100-80gb").peak("bf16")
  312000000000000.0
"""

import dataclasses
import math
import os

from ..errors import PlanningError
from .._util.jsonio import read_json

PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")  # int8 in operations per second


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """One accelerator: ``peak_flops_per_second`` ``{precision: dense FLOP/s}``, ``memory_bytes``,
    ``power_watts`` (W, or None when unpublished), ``source`` and ``notes``.

    FLOP/s and watts are separate fields on purpose: energy is accelerator-hours x watts, never FLOPs divided by a
    "FLOP/s per watt" figure (the slip behind a widely copied estimate 400 times too small).
    """

    name: str
    peak_flops_per_second: dict
    memory_bytes: float
    power_watts: float | None
    source: str
    notes: str = ""

    def peak(self, precision) -> float:
        """Dense peak FLOP/s at ``precision``; a ``PlanningError`` naming the ones it has otherwise."""
        if precision not in self.peak_flops_per_second:
            raise PlanningError(f"{self.name} has no published peak for {precision!r}; it has "
                                f"{', '.join(self.peak_flops_per_second)}")
        return float(self.peak_flops_per_second[precision])

    def to_dict(self) -> dict:
        return {"name": self.name, "peak_flops_per_second": dict(self.peak_flops_per_second),
                "memory_bytes": self.memory_bytes, "power_watts": self.power_watts, "source": self.source,
                "notes": self.notes}


_NVIDIA_SPARSE = "the datasheet's tensor-core figures are with 2:4 sparsity; dense ones (here) are half"
_A100 = "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf), SXM column"
_H100 = "NVIDIA H100 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/h100), H100 SXM column"
_H100_PCIE = ("NVIDIA H100 Tensor Core GPU datasheet (2022), H100 PCIe column; NVIDIA H100 PCIe product brief "
              "PB-11133-001_v02 (max TDP 350 W)")
_H200 = "NVIDIA H200 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/h200), H200 SXM column"
_B200 = "NVIDIA HGX B200 datasheet (nvidia.com/en-us/data-center/hgx), individual Blackwell GPU, HGX B200 column"
_MI300X = "AMD Instinct MI300X accelerator data sheet (amd.com/en/products/accelerators/instinct/mi300/mi300x.html)"


def _tflops(**values):
    return {precision: value * 1e12 for precision, value in values.items()}


ACCELERATORS = {
    "a100-40gb": Accelerator("a100-40gb", _tflops(fp32=19.5, tf32=156, bf16=312, fp16=312, int8=624), 40e9, 400.0,
                             _A100, _NVIDIA_SPARSE),
    "a100-80gb": Accelerator("a100-80gb", _tflops(fp32=19.5, tf32=156, bf16=312, fp16=312, int8=624), 80e9, 400.0,
                             _A100, _NVIDIA_SPARSE),
    "h100-sxm": Accelerator("h100-sxm", _tflops(fp32=67, tf32=494.5, bf16=989.5, fp16=989.5, fp8=1979, int8=1979),
                            80e9, 700.0, _H100, _NVIDIA_SPARSE + " (bf16: 1979 / 2)"),
    "h100-pcie": Accelerator("h100-pcie", _tflops(fp32=51, tf32=378, bf16=756.5, fp16=756.5, fp8=1513, int8=1513),
                             80e9, 350.0, _H100_PCIE, _NVIDIA_SPARSE + " (bf16: 1513 / 2)"),
    "h200": Accelerator("h200", _tflops(fp32=67, tf32=494.5, bf16=989.5, fp16=989.5, fp8=1979, int8=1979), 141e9,
                        700.0, _H200, _NVIDIA_SPARSE + "; the H100's compute with 141 GB of HBM3e"),
    "b200": Accelerator("b200", _tflops(fp32=75, tf32=1100, bf16=2250, fp16=2250, fp8=4500, int8=4500), 180e9,
                        1000.0, _B200, _NVIDIA_SPARSE + " (bf16: 4.5 PFLOP/s / 2); TDP configurable up to 1000 W"),
    "mi300x": Accelerator("mi300x", _tflops(fp32=163.4, tf32=653.7, bf16=1307.4, fp16=1307.4, fp8=2614.9, int8=2614.9),
                          192e9, 750.0, _MI300X, "AMD prints dense and sparse figures; these are the dense ones "
                                                 "(fp32: matrix)"),
    "tpu-v4": Accelerator("tpu-v4", _tflops(bf16=275, int8=275), 32 * 2**30, 192.0,
                          "Google Cloud TPU v4 documentation (cloud.google.com/tpu/docs/v4): 275 TFLOP/s bf16 and int8, "
                          "32 GiB HBM2; power: Jouppi et al. 2023 (TPU v4, ISCA), 192 W maximum per chip",
                          "TPUs have no sparse mode: these are dense"),
    "tpu-v5e": Accelerator("tpu-v5e", _tflops(bf16=197, int8=393), 16e9, None,
                           "Google Cloud TPU v5e documentation (cloud.google.com/tpu/docs/v5e): 197 TFLOP/s bf16, "
                           "393 TOP/s int8, 16 GB HBM2",
                           "Google publishes no per-chip power: give power_watts (--power W)"),
    "tpu-v5p": Accelerator("tpu-v5p", _tflops(bf16=459), 95e9, None,
                           "Google Cloud TPU v5p documentation (cloud.google.com/tpu/docs/v5p): 459 TFLOP/s bf16, "
                           "95 GB HBM2e", "Google publishes no per-chip power: give power_watts (--power W)"),
}
ALIASES = {"a100": "a100-80gb", "h100": "h100-sxm"}
# Peak memory (HBM) bandwidth in bytes per second, for serving (decode reads every weight once per step):
# {name: (bytes/s, where it is printed)}. The vendor's "GB/s" and "TB/s" taken as 1e9 and 1e12 bytes/s.
MEMORY_BANDWIDTH = {
    "a100-40gb": (1555e9, _A100 + ": GPU memory bandwidth 1,555 GB/s (A100 40GB SXM)"),
    "a100-80gb": (2039e9, _A100 + ": GPU memory bandwidth 2,039 GB/s (A100 80GB SXM)"),
    "h100-sxm": (3.35e12, _H100 + ": GPU memory bandwidth 3.35 TB/s"),
    "h100-pcie": (2.0e12, "NVIDIA H100 PCIe product brief PB-11133-001_v02: memory bandwidth greater than 2,000 GB/s "
                          "(the datasheet's 2 TB/s)"),
    "h200": (4.8e12, _H200 + ": GPU memory bandwidth 4.8 TB/s"),
    "b200": (8.0e12, _B200 + ": GPU memory bandwidth 8 TB/s per GPU"),
    "mi300x": (5.3e12, _MI300X + ": peak theoretical memory bandwidth 5.3 TB/s"),
    "tpu-v4": (1200e9, "Google Cloud TPU v4 documentation (cloud.google.com/tpu/docs/v4): HBM2 32 GiB, 1200 GBps"),
    "tpu-v5e": (819e9, "Google Cloud TPU v5e documentation (cloud.google.com/tpu/docs/v5e): HBM2 16 GB, 819 GBps"),
    "tpu-v5p": (2765e9, "Google Cloud TPU v5p documentation (cloud.google.com/tpu/docs/v5p): HBM2e 95 GB, 2765 GBps"),
}


def accelerator(name) -> Accelerator:
    """The table's accelerator ``name`` (or an alias: "a100" is the 80 GB SXM part, "h100" the SXM one)."""
    if isinstance(name, Accelerator):
        return name
    if isinstance(name, str) and not name.strip():
        raise PlanningError(f"the accelerator name is empty; choose one of {', '.join([*ACCELERATORS, *ALIASES])}, "
                            "or give your own (a JSON file: --accelerator-file)")
    key = ALIASES.get(name, name) if isinstance(name, str) else None
    if key not in ACCELERATORS:
        raise PlanningError(f"unknown accelerator {name!r}; choose one of {', '.join([*ACCELERATORS, *ALIASES])}, "
                            "or give your own (a JSON file: --accelerator-file)")
    return ACCELERATORS[key]


_FIELDS = ("name", "peak_flops_per_second", "memory_gb", "power_watts", "source", "notes")
# What an accelerator file may claim, each range wide around every part made (a CPU core's ~1e10 FLOP/s to a
# B200's ~4.5e15 dense fp8; 16 GB to 192 GB; 75 W to 1.2 kW): outside them a figure is in the wrong unit (TFLOP/s
# for FLOP/s, bytes for GB), and a tiny peak would make every time, energy and cost infinite.
PLAUSIBLE = {"peak_flops_per_second": (1e9, 1e18), "memory_gb": (1e-3, 1e6), "power_watts": (1.0, 1e6)}


def check_plausible(value, place, key, unit):
    """A checked positive ``value`` inside ``PLAUSIBLE[key]`` (an accelerator file's, a power given to a plan);
    otherwise a ``PlanningError`` saying the range, ``place`` naming the value."""
    low, high = PLAUSIBLE[key]
    if not low <= value <= high:
        raise PlanningError(f"{place} = {value:g} is outside {low:g} to {high:g} {unit}, the range of accelerators "
                            "made; check the unit")
    return value


def _positive(value, place):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = "true/false" if isinstance(value, bool) else ("null" if value is None else type(value).__name__)
        raise PlanningError(f"{place} must be a number, not {shown}")
    number = float(value) if abs(value) < 1e308 else math.inf
    if not (math.isfinite(number) and number > 0):
        raise PlanningError(f"{place} must be a positive finite number, got {value!r}")
    return number


def accelerator_from_dict(data, where="accelerator") -> Accelerator:
    """An ``Accelerator`` from a JSON-like dict (the format is in the module's docstring). ``memory_gb`` and
    ``peak_flops_per_second`` are required; ``power_watts`` may be left out (energy then needs it given);
    every field is checked, and a ``PlanningError`` names the first bad one (``where`` in front)."""
    if not isinstance(data, dict):
        raise PlanningError(f"{where} must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise PlanningError(f"{where}: unknown field {unknown[0]!r}; the fields are {', '.join(_FIELDS)}")
    for key in ("peak_flops_per_second", "memory_gb"):
        if key not in data:
            raise PlanningError(f"{where}: {key} is missing")
    peaks = data["peak_flops_per_second"]
    if not isinstance(peaks, dict) or not peaks:
        raise PlanningError(f"{where}: peak_flops_per_second must be an object of {{precision: FLOP/s}} with at least "
                            f"one of {', '.join(PRECISIONS)}")
    checked = {}
    for precision, value in peaks.items():
        if precision not in PRECISIONS:
            raise PlanningError(f"{where}: peak_flops_per_second has unknown precision {precision!r}; the precisions "
                                f"are {', '.join(PRECISIONS)}")
        place = f"{where}: peak_flops_per_second.{precision}"
        checked[precision] = check_plausible(_positive(value, place), place, "peak_flops_per_second", "FLOP/s")
    memory = check_plausible(_positive(data["memory_gb"], f"{where}: memory_gb"), f"{where}: memory_gb",
                             "memory_gb", "GB") * 1e9
    power = data.get("power_watts")
    if power is not None:
        power = check_plausible(_positive(power, f"{where}: power_watts"), f"{where}: power_watts", "power_watts", "W")
    texts = {}
    for key, default in (("name", "custom"), ("source", "user-supplied"), ("notes", "")):
        value = data.get(key, default)
        if not isinstance(value, str):
            raise PlanningError(f"{where}: {key} must be a string, not {type(value).__name__}")
        if key == "name" and not value.strip():
            raise PlanningError(f"{where}: name is empty; name the accelerator (or leave the field out)")
        texts[key] = value
    return Accelerator(texts["name"], checked, memory, power, texts["source"], texts["notes"])


def load_accelerator(path) -> Accelerator:
    """Your own accelerator from a JSON file (see the module's docstring); every malformed field is a
    ``PlanningError`` naming the file and the field (an unreadable or invalid file: ``CoefficientsError``)."""
    data = read_json(path, "accelerator file")
    return accelerator_from_dict(data, f"accelerator file {os.fspath(path)!r}")
